"""The edge suite's app: local storage with absolute signed URLs, and a small site of devices."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.events.conftest import add_location, add_sensor, db_of
from tvms.config import Config
from tvms.db import Database

BASE = "http://tvms.test"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(
        data_dir=tmp_path,
        database_url=database_url,
        storage_url=f"file://{tmp_path / 'storage'}?public_url={BASE}",
    )


@pytest.fixture
async def site(app: Starlette) -> Database:
    """Gateway gw-1 with cam-1 and nvr-1; gateway gw-2 with cam-2; radar-1 on its own."""
    db = db_of(app)
    await add_location(db, "loc-1")
    await add_sensor(db, "gw-1", type="EDGE_CONTROLLER", location="loc-1")
    await add_sensor(db, "cam-1", type="CAMERA", parent="gw-1", location="loc-1")
    await add_sensor(db, "nvr-1", type="NVR", parent="gw-1", location="loc-1")
    await add_sensor(db, "gw-2", type="EDGE_CONTROLLER", location="loc-1")
    await add_sensor(db, "cam-2", type="CAMERA", parent="gw-2", location="loc-1")
    await add_sensor(db, "radar-1", type="RADAR", location="loc-1")
    return db
