from __future__ import annotations

import dataclasses

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from procedures import api
from tvms.app import create_app
from tvms.config import Config


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
