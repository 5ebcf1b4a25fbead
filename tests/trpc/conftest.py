"""An app serving `/trpc` in-process: the real API, the test resolver and a `probe` router with
datetime inputs and outputs (no real procedure has msgspec datetime fields yet)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from procedures.schemas import Input, Output
from tests.support import asgi_client, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.rpc import PUBLIC, USER, Context, Router
from tvms.trpc import trpc_routes

CLIENT_DIR = Path(__file__).parent / "client"

probe = Router("probe")


class StampInput(Input):
    at: datetime
    label: str = ""
    count: int | None = None


class Stamp(Output):
    at: datetime
    at_text: str
    label: str
    count: int | None
    history: list[datetime]
    by: str


class EchoInput(Input):
    text: str = msgspec.field(default="")
    tags: list[str] = msgspec.field(default_factory=list)


class Echo(Output):
    text: str
    tags: list[str]


class Counter(Output):
    value: int


@probe.mutation("stamp", auth=USER)
async def stamp(ctx: Context, input: StampInput) -> Stamp:
    """Echo a datetime input back as a datetime (and as the string the wire carried)."""
    assert ctx.principal is not None
    at = input.at.astimezone(UTC)
    return Stamp(
        at=at,
        at_text=at.isoformat(),
        label=input.label,
        count=input.count,
        history=[at, datetime(2024, 1, 1, tzinfo=UTC)],
        by=ctx.principal.id,
    )


@probe.query("echo", auth=PUBLIC)
async def echo(ctx: Context, input: EchoInput) -> Echo:
    """Echo the input."""
    return Echo(text=input.text, tags=input.tags)


@probe.query("boom", auth=PUBLIC)
async def boom(ctx: Context) -> Echo:
    """Fail with an exception whose text must not reach the client."""
    raise ValueError("secret detail from the database")


def counting() -> Router:
    """`probe.bump` and `probe.bumps` around a count of their own (one per test's app)."""
    counter = Router("probe")
    count = [0]

    @counter.mutation("bump", auth=PUBLIC)
    async def bump(ctx: Context) -> Counter:
        """Count calls (to prove a refused call never ran)."""
        count[0] += 1
        return Counter(value=count[0])

    @counter.query("bumps", auth=PUBLIC)
    async def bumps(ctx: Context) -> Counter:
        """How often `bump` ran."""
        return Counter(value=count[0])

    return counter


def with_plain_trpc(app: Starlette, config: Config) -> Starlette:
    """Add `/trpc-plain` (no transformer) beside the `/trpc` that `create_app` serves."""
    app.router.routes.extend(
        trpc_routes(
            lambda: app.state.dispatcher,
            max_body=config.max_body_bytes,
            timeout=config.request_timeout,
            prefix="/trpc-plain",
            transformer="json",
        )
    )
    return app


@pytest.fixture
def trpc_api(test_api: Api) -> Api:
    return dataclasses.replace(test_api, routers=[*test_api.routers, probe, counting()])


@pytest.fixture
async def trpc(config: Config, trpc_api: Api, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app with `/trpc` (superjson), output validation on."""
    async with running_app(config, trpc_api, clock) as app, asgi_client(with_plain_trpc(app, config)) as http:
        yield http


@pytest.fixture(scope="session")
def node_client() -> Path:
    """tests/trpc/client with its locked packages installed (`npm ci`, once per session)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm must be on the PATH for the tRPC client tests")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return CLIENT_DIR
