"""Helpers shared by the tests: a running app, calling the service and a test-only principal resolver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from starlette.applications import Starlette

from tvms.app import Api, create_app
from tvms.clock import Clock
from tvms.config import Config
from tvms.rpc import Credentials, ErrorCode, Principal, RpcError, Services

ROLES = ("ADMIN", "OPERATOR", "VIEWER")


async def test_resolver(credentials: Credentials, services: Services) -> Principal | None:
    """Test-only: `Bearer test:<ROLE>:<user id>` is that user, `X-API-Key test:<id>` that device;
    any other credentials go to the real resolver (JWTs, device keys)."""
    from procedures import resolve_caller

    if credentials.bearer is not None and credentials.bearer.startswith("test:"):
        _, _, rest = credentials.bearer.partition(":")
        role, _, user_id = rest.partition(":")
        if role not in ROLES or not user_id:
            raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid token")
        return Principal("user", user_id, role)
    if (
        credentials.bearer is None
        and credentials.api_key is not None
        and credentials.api_key.startswith("test:")
    ):
        device_id = credentials.api_key.removeprefix("test:")
        if not device_id:
            raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid API key")
        return Principal("device", device_id)
    return await resolve_caller(credentials, services)


@asynccontextmanager
async def running_app(config: Config, api: Api, clock: Clock) -> AsyncIterator[Starlette]:
    """`create_app(config, api)` with its lifespan running; every result checked against its type."""
    application = create_app(config, api, clock=clock, validate_output=True)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def asgi_client(app: Starlette, port: int = 50000) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process, from 127.0.0.1:`port`."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", port))
    async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as http:
        yield http


def as_role(role: str, user_id: str | None = None) -> dict[str, str]:
    """Headers for a test user with that role."""
    return {"authorization": f"Bearer test:{role}:{user_id or role.lower() + '-1'}"}


def as_device(device_id: str = "sensor-1") -> dict[str, str]:
    return {"x-api-key": f"test:{device_id}"}


async def call(
    client: httpx.AsyncClient,
    method: str,
    params: Any = None,
    *,
    headers: dict[str, str] | None = None,
    id: int = 1,
) -> dict[str, Any]:
    """POST one JSON-RPC request and return the decoded response object."""
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        request["params"] = params
    response = await client.post(
        "/rpc",
        content=msgspec.json.encode(request),
        headers={"content-type": "application/json", **(headers or {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def result(
    client: httpx.AsyncClient, method: str, params: Any = None, *, headers: dict[str, str] | None = None
) -> Any:
    """The result of a call that must succeed."""
    body = await call(client, method, params, headers=headers)
    assert "error" not in body, body
    return body["result"]


async def error(
    client: httpx.AsyncClient, method: str, params: Any = None, *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The error object of a call that must fail."""
    body = await call(client, method, params, headers=headers)
    assert "result" not in body, body
    error: dict[str, Any] = body["error"]
    return error
