"""A procedure that touches no table must not pay for a database connection."""

from __future__ import annotations

import dataclasses

import httpx

from procedures import api
from tests.support import result
from tvms.app import create_app
from tvms.config import Config


async def test_calls_that_need_no_table_open_no_connection(config: Config) -> None:
    # Without the background hooks (they poll the database by design).
    app = create_app(config, dataclasses.replace(api(), hooks=()))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with app.router.lifespan_context(app), http as client:
        db = app.state.services.db
        await result(client, "system.getLicense")
        await result(client, "system.timezone.listTimezones")
        assert db.open_connections == 0
        await result(client, "system.timezone.getTimezoneSettings")  # reads the settings table
        assert db.open_connections >= 1
