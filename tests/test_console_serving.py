"""The console's files at `/`: long-cached hashed assets, index.html revalidated, client routes
falling back to it, the API's own paths untouched, and a one-line hint when nothing is built."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from procedures import api
from tests.support import asgi_client
from tvms import console
from tvms.app import create_app
from tvms.config import Config
from tvms.console import IMMUTABLE, NOT_BUILT, console_fallback

INDEX = "<!doctype html><title>TVMS</title><script src=/assets/index-abc123.js></script>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('tvms');\n")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the dist dir")
    return root


async def _client(dist: Path) -> httpx.AsyncClient:
    app = Starlette()
    app.router.default = console_fallback(app.router.not_found, dist)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_hashed_assets_are_cached_for_a_year(dist: Path) -> None:
    async with await _client(dist) as client:
        answer = await client.get("/assets/index-abc123.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('tvms');\n"
    assert answer.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "javascript" in answer.headers["content-type"]


@pytest.mark.parametrize("path", ["/", "/sensors", "/sensors/sensor-001", "/events?type=SPEEDING"])
async def test_index_and_client_routes_are_not_cached(dist: Path, path: str) -> None:
    async with await _client(dist) as client:
        answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.text == INDEX
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-type"].startswith("text/html")


async def test_other_files_are_served_but_revalidated(dist: Path) -> None:
    async with await _client(dist) as client:
        answer = await client.get("/favicon.svg")
    assert answer.status_code == 200 and answer.text.startswith("<svg")
    assert answer.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    ["/assets/index-missing.js", "/rpc/nothing/here", "/trpc/x/y", "/storage/nope", "/metrics/x", "/api/v1"],
)
async def test_api_paths_and_missing_assets_do_not_fall_back(dist: Path, path: str) -> None:
    async with await _client(dist) as client:
        answer = await client.get(path)
    assert answer.status_code == 404
    assert INDEX not in answer.text


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"])
async def test_no_file_outside_the_dist_dir(dist: Path, path: str) -> None:
    async with await _client(dist) as client:
        answer = await client.get(path)
    assert "outside the dist dir" not in answer.text


async def test_head_is_answered_without_a_body(dist: Path) -> None:
    async with await _client(dist) as client:
        answer = await client.head("/assets/index-abc123.js")
    assert answer.status_code == 200 and answer.content == b""


async def test_without_a_build_the_root_says_how_to_build(tmp_path: Path) -> None:
    async with await _client(tmp_path / "nothing") as client:
        root = await client.get("/")
        other = await client.get("/sensors")
    assert root.status_code == 200
    assert root.text == NOT_BUILT and root.text.count("\n") == 1
    assert "make setup" in root.text and "npm ci && npm run build" in root.text
    assert other.status_code == 404


async def test_other_methods_are_not_found(dist: Path) -> None:
    async with await _client(dist) as client:
        answer = await client.post("/sensors", content=b"{}")
    assert answer.status_code == 404 and INDEX not in answer.text


async def test_the_service_serves_the_console_without_shadowing_the_api(
    dist: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    monkeypatch.setattr(console, "DIST", dist)
    app = create_app(config, dataclasses.replace(api(), hooks=()))

    async def late(request: Request) -> Response:
        return PlainTextResponse("a route added after create_app")

    app.router.routes.append(Route("/late/{rest:path}", late))
    async with app.router.lifespan_context(app), asgi_client(app) as http:
        added_later = await http.get("/late/x")
        page = await http.get("/sensors")
        health = await http.get("/healthz")
        rpc = await http.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "system.getLicense"})
        openrpc = await http.get("/openrpc.json")
        unknown_storage = await http.get("/storage/no-such-object")
    assert page.text == INDEX and page.headers["cache-control"] == "no-cache"
    assert added_later.text == "a route added after create_app"
    assert health.json() == {"status": "ok"}
    assert rpc.json()["result"]["organization"] == "ITMS Solutions"
    assert openrpc.json()["openrpc"]
    assert unknown_storage.status_code in (403, 404) and INDEX not in unknown_storage.text
