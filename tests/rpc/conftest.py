"""An app serving only the fixture procedures, with the lifespan running, and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.rpc.fixture_api import FixtureState, test_router
from tests.support import asgi_client, running_app, test_resolver
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config


@pytest.fixture
def rpc_api() -> Api:
    return Api(routers=[test_router], resolver=test_resolver, state=FixtureState.create)


@pytest.fixture
async def rpc_app(config: Config, rpc_api: Api, clock: ManualClock) -> AsyncIterator[Starlette]:
    async with running_app(config, rpc_api, clock) as application:
        yield application


@pytest.fixture
async def rpc_client(rpc_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(rpc_app) as http:
        yield http
