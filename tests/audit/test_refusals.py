"""Anonymous floods cannot grow the audit log: refusals of unauthenticated callers are aggregated."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from starlette.applications import Starlette

from tests.auth.support import bearer, services
from tests.support import running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.db import open_database

SENSOR = {"name": "Flood", "deviceId": "FLOOD-1", "type": "CAMERA"}


def _batch(count: int) -> bytes:
    return msgspec.json.encode(
        [{"jsonrpc": "2.0", "method": "sensors.create", "params": SENSOR, "id": i} for i in range(count)]
    )


async def _flood(client: httpx.AsyncClient, count: int, headers: dict[str, str] | None = None) -> list[Any]:
    response = await client.post(
        "/rpc", content=_batch(count), headers={"content-type": "application/json", **(headers or {})}
    )
    answers: list[Any] = response.json()
    return answers


async def _audit_rows(db: Any) -> list[Any]:
    return list(await db.fetch("SELECT procedure, outcome, client_ip, detail FROM audit_log ORDER BY at, id"))


async def test_an_anonymous_batch_of_100_refusals_writes_one_row(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answers = await _flood(client, 100)
    assert [a["error"]["data"]["code"] for a in answers] == ["UNAUTHORIZED"] * 100
    db = services(app).db
    rows = await _audit_rows(db)
    assert [(r["procedure"], r["outcome"], r["client_ip"]) for r in rows] == [
        ("sensors.create", "UNAUTHORIZED", "127.0.0.1")
    ]
    # invalid credentials are no better than none
    answers = await _flood(client, 50, headers={"authorization": "Bearer not-a-token"})
    assert {a["error"]["data"]["code"] for a in answers} == {"UNAUTHORIZED"}
    assert len(await _audit_rows(db)) == 1
    # a minute later: one summary row for the 149 not written one by one, and the new first one
    clock.advance(61)
    await _flood(client, 1)
    rows = await _audit_rows(db)
    assert len(rows) == 3
    summary = msgspec.json.decode(rows[1]["detail"])
    assert summary["refusals"] == 149 and summary["procedures"] == {"sensors.create": 149}
    assert rows[2]["detail"] is None


async def test_the_last_minute_is_summarised_at_shutdown(config: Config, test_api: Api) -> None:
    from tests.support import asgi_client

    async with running_app(config, test_api, ManualClock()) as app, asgi_client(app) as client:
        await _flood(client, 40)
    db = await open_database(config.resolved_database_url)
    try:
        rows = await _audit_rows(db)
    finally:
        await db.close()
    assert len(rows) == 2
    assert msgspec.json.decode(rows[1]["detail"])["refusals"] == 39


async def test_signed_in_refusals_are_still_recorded_one_by_one(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    signed_in = bearer(admin[1])  # an ADMIN deleting itself: refused, and recorded with its actor
    for _ in range(3):
        response = await client.post(
            "/rpc",
            json={"jsonrpc": "2.0", "method": "users.delete", "params": {"id": admin[0]}, "id": 1},
            headers=signed_in,
        )
        assert response.json()["error"]["data"]["code"] == "FORBIDDEN"
    rows = await _audit_rows(services(app).db)
    refused = [(r["procedure"], r["outcome"]) for r in rows if r["procedure"] == "users.delete"]
    assert refused == [("users.delete", "FORBIDDEN")] * 3
