"""The reports tests' app: the default one (tests/conftest.py) with a clock in 2025."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from tvms.clock import ManualClock
from tvms.db import Database

NOW = 1_735_689_600_000  # 2025-01-01T00:00:00Z: the tests' data lies in 2024


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def db(app: Starlette) -> Database:
    """The app's own database, to create rows directly with SQL."""
    database: Database = app.state.services.db
    return database
