from __future__ import annotations

import dataclasses

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from procedures import api, api_state
from procedures.state import state_of
from tests.support import asgi_client, result, running_app
from tvms.app import Api, create_app
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.rpc import Services


async def test_even_an_unhandled_error_page_carries_a_request_id(config: Config) -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("secret-detail")

    app = create_app(config, dataclasses.replace(api(), hooks=(), routes=[Route("/broken", broken)]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        response = await http.get("/broken", headers={"x-request-id": "trace-500"})
        other = await http.get("/healthz")
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-500"
    assert "secret-detail" not in response.text
    assert len(other.headers["x-request-id"]) == 16


async def test_per_app_state_is_made_once_when_the_app_starts(config: Config, clock: ManualClock) -> None:
    made: list[Services] = []

    def state(services: Services) -> object:
        made.append(services)
        return api_state(services)

    the_api = dataclasses.replace(api(), hooks=(), state=state)
    async with running_app(config, the_api, clock) as app, asgi_client(app) as http:
        services: Services = app.state.services
        assert made == [services]  # before any call
        assert state_of(services) is services.state
        assert services.readiness is not None and services.rate_limiter is not None
        assert services.passwords.rounds == config.bcrypt_rounds  # the configured cost, read once
        await result(http, "storage.getStats")
        await result(http, "system.health")
        assert made == [services]  # and never again
    async with running_app(config, the_api, clock) as other:
        assert state_of(other.state.services) is not state_of(services)  # one per app


async def test_the_rate_limiter_is_absent_when_the_limit_is_off(config: Config, clock: ManualClock) -> None:
    off = dataclasses.replace(config, rate_limit=0)
    async with running_app(off, dataclasses.replace(api(), hooks=()), clock) as app:
        assert app.state.services.rate_limiter is None


async def test_an_app_without_the_api_state_is_refused_loudly(config: Config, clock: ManualClock) -> None:
    async with running_app(config, Api(routers=[]), clock) as app:
        with pytest.raises(TypeError, match="not ApiState"):
            state_of(app.state.services)
