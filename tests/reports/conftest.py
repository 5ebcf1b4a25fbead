"""The reports tests' app: the real API plus the reports router, its worker hook and (for the
agreement tests) the events router, with the test-only resolver and a clock in 2025."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.applications import Starlette

from procedures import api
from procedures.events import events
from procedures.reports import report_worker, reports
from tests.support import test_resolver
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.db import Database

NOW = 1_735_689_600_000  # 2025-01-01T00:00:00Z: the tests' data lies in 2024


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def test_api() -> Api:
    base = api()
    prefixes = {router.prefix for router in base.routers}
    routers = [*base.routers, *(r for r in (reports, events) if r.prefix not in prefixes)]
    hooks = [*base.hooks, *([report_worker] if report_worker not in base.hooks else [])]
    return dataclasses.replace(base, routers=routers, hooks=hooks, resolver=test_resolver)


@pytest.fixture
def db(app: Starlette) -> Database:
    """The app's own database, to create rows directly with SQL."""
    database: Database = app.state.services.db
    return database
