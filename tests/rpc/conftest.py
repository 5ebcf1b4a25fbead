"""An app serving only the fixture procedures, with the lifespan running, and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.rpc.fixture_api import test_router
from tests.support import test_resolver
from tvms.app import Api, create_app
from tvms.clock import ManualClock
from tvms.config import Config


@pytest.fixture
def rpc_api() -> Api:
    return Api(routers=[test_router], resolver=test_resolver)


@pytest.fixture
async def rpc_app(config: Config, rpc_api: Api, clock: ManualClock) -> AsyncIterator[Starlette]:
    application = create_app(config, rpc_api, clock=clock, validate_output=True)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def rpc_client(rpc_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rpc_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as http:
        yield http
