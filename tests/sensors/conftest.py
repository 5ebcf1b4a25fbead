"""The app for these tests: the real API plus sensors/locations, device keys, the sweeper."""

from __future__ import annotations

import pytest

from tests.sensors.helpers import sensors_api
from tvms.app import Api


@pytest.fixture
def test_api() -> Api:
    return sensors_api()
