"""Shared by tests/sensors and tests/locations: the app with the sensors and locations routers,
real device keys composed with the test resolver, and small factories."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from procedures import api
from tests.support import as_role, call, result, test_resolver
from tvms.app import Api, create_app
from tvms.clock import ManualClock
from tvms.config import Config

OPERATOR = as_role("OPERATOR")
ADMIN = as_role("ADMIN")
VIEWER = as_role("VIEWER")


def sensors_api() -> Api:
    """The real API with real device keys and the test-only users (`Bearer test:ROLE:id`)."""
    return dataclasses.replace(api(), resolver=test_resolver)


@asynccontextmanager
async def client_for(config: Config, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a separate app instance (e.g. with another licence file)."""
    app: Starlette = create_app(config, sensors_api(), clock=clock, validate_output=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as client:
            yield client


def device(key: str) -> dict[str, str]:
    return {"x-api-key": key}


_counter = 0


async def make_sensor(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Create a sensor as an operator; returns the answer (with `apiKey`)."""
    global _counter
    _counter += 1
    params = {"name": f"Sensor {_counter}", "deviceId": f"DEV-{_counter:05d}", "type": "CAMERA", **fields}
    created: dict[str, Any] = await result(client, "sensors.create", params, headers=OPERATOR)
    return created


async def make_location(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    global _counter
    _counter += 1
    params = {
        "name": f"Location {_counter}",
        "address": f"{_counter} Abay Avenue, Almaty",
        "type": "INTERSECTION",
        "latitude": 43.238,
        "longitude": 76.945,
        **fields,
    }
    created: dict[str, Any] = await result(client, "locations.create", params, headers=OPERATOR)
    return created


async def code_of(
    client: httpx.AsyncClient, method: str, params: Any = None, headers: dict[str, str] | None = None
) -> str:
    """The error code name of a call that must fail."""
    body = await call(client, method, params, headers=headers)
    assert "error" in body, body
    name: str = body["error"]["data"]["code"]
    return name


async def issue_path(
    client: httpx.AsyncClient, method: str, params: Any = None, headers: dict[str, str] | None = None
) -> str:
    """The `$.path` of the first validation issue of a call that must fail with -32602."""
    body = await call(client, method, params, headers=headers)
    assert "error" in body, body
    assert body["error"]["code"] == -32602, body
    path: str = body["error"]["data"]["issues"][0]["path"]
    return path
