"""Fixture procedures for the JSON-RPC tests, shaped after the spec's section 7 examples.

Registered only here, never in the real API. Our params are one object (or a one-element array
holding it), so the spec's positional `[42, 23]` becomes `[{"minuend": 42, "subtrahend": 23}]`.
Every call is recorded in the app's `FixtureState.calls` so tests can prove what ran and in which order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
from starlette.applications import Starlette

from tvms.rpc import PUBLIC, USER, Context, ErrorCode, Router, RpcError, Services

test_router = Router("test")

SECRET = "secret-XYZ"


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SubtractInput(Strict):
    minuend: int
    subtrahend: int


class ValuesInput(Strict):
    values: list[int] = msgspec.field(default_factory=list)


class HelloInput(Strict):
    value: int


class FailInput(Strict):
    code: str
    message: str = "It failed"


@dataclass(slots=True)
class FixtureState:
    """The fixture API's own state (`Api(state=FixtureState.create)`)."""

    calls: list[str] = field(default_factory=list)
    updated: list[int] | None = None
    counter: int = 0

    @staticmethod
    def create(services: Services) -> FixtureState:
        return FixtureState()


def state_of(services: Services) -> FixtureState:
    state = services.state
    if not isinstance(state, FixtureState):
        raise TypeError("the fixture API's state is missing")
    return state


def _record(ctx: Context) -> None:
    state_of(ctx.services).calls.append(ctx.path)


@test_router.query("subtract", auth=PUBLIC)
async def subtract(ctx: Context, input: SubtractInput) -> int:
    """Minuend minus subtrahend."""
    _record(ctx)
    return input.minuend - input.subtrahend


@test_router.query("sum", auth=PUBLIC)
async def sum_(ctx: Context, input: ValuesInput) -> int:
    """The sum of the values."""
    _record(ctx)
    return sum(input.values)


@test_router.mutation("update", auth=PUBLIC)
async def update(ctx: Context, input: ValuesInput) -> None:
    """Remember the values (the spec's notification target)."""
    _record(ctx)
    state_of(ctx.services).updated = input.values


@test_router.query("getData", auth=PUBLIC)
async def get_data(ctx: Context) -> list[str | int]:
    """The spec's get_data: ["hello", 5]."""
    _record(ctx)
    return ["hello", 5]


@test_router.mutation("notifyHello", auth=PUBLIC)
async def notify_hello(ctx: Context, input: HelloInput) -> int:
    """The spec's notify_hello."""
    _record(ctx)
    return input.value


@test_router.mutation("notifySum", auth=PUBLIC)
async def notify_sum(ctx: Context, input: ValuesInput) -> int:
    """The spec's notify_sum."""
    _record(ctx)
    return sum(input.values)


@test_router.mutation("increment", auth=PUBLIC)
async def increment(ctx: Context) -> int:
    """Add one to a counter kept in the services."""
    _record(ctx)
    value = state_of(ctx.services).counter + 1
    await asyncio.sleep(0.001)  # read, yield, write: concurrent runs would lose updates
    state_of(ctx.services).counter = value
    return value


@test_router.query("counter", auth=PUBLIC)
async def counter(ctx: Context) -> int:
    """The counter's value."""
    _record(ctx)
    return state_of(ctx.services).counter


@test_router.query("explode", auth=PUBLIC)
async def explode(ctx: Context) -> int:
    """Raise an unexpected exception whose text must never reach a client."""
    _record(ctx)
    raise RuntimeError(SECRET)


@test_router.query("fail", auth=PUBLIC)
async def fail(ctx: Context, input: FailInput) -> int:
    """Raise the RpcError named by `code`."""
    _record(ctx)
    raise RpcError(ErrorCode[input.code], input.message)


@test_router.query("whoami", auth=USER)
async def whoami(ctx: Context) -> str:
    """The signed-in user's id."""
    _record(ctx)
    return ctx.principal.id if ctx.principal else ""


def calls(app: Starlette) -> list[str]:
    """Names of the fixture procedures that ran, in order."""
    return state_of(app.state.services).calls


def req(method: str, params: Any = None, id: Any = 1, *, notification: bool = False) -> dict[str, Any]:
    """A request object (a notification when asked)."""
    value: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        value["params"] = params
    if not notification:
        value["id"] = id
    return value


async def post(
    client: httpx.AsyncClient,
    body: Any,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a body (bytes as they are, anything else JSON-encoded) to /rpc."""
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    all_headers = {"content-type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return await client.post("/rpc", content=content, headers=all_headers)


def strip(response: Any) -> Any:
    """A response with `error` reduced to its code, for comparing with the spec's examples."""
    if isinstance(response, list):
        return [strip(item) for item in response]
    if "error" in response:
        return {
            "jsonrpc": response["jsonrpc"],
            "error": {"code": response["error"]["code"]},
            "id": response["id"],
        }
    return response
