"""`POST /rpc` and `/trpc/…` without `Origin` take a shorter way through the app: same answer,
same headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tvms.app import _FastPath
from tvms.rpc.request_id import RequestIdMiddleware

CALL = {"jsonrpc": "2.0", "method": "system.getLicense", "id": 1}


async def test_with_and_without_origin_the_answer_is_the_same(client: httpx.AsyncClient) -> None:
    plain = await client.post("/rpc", json=CALL, headers={"x-request-id": "fast-1"})
    cross = await client.post(
        "/rpc", json=CALL, headers={"x-request-id": "fast-2", "origin": "http://localhost:3000"}
    )
    assert plain.status_code == cross.status_code == 200
    assert plain.content == cross.content
    assert plain.headers["x-request-id"] == "fast-1" and cross.headers["x-request-id"] == "fast-2"
    assert plain.headers["vary"] == "Origin"  # as the CORS middleware marks a request without Origin
    assert cross.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert plain.headers["content-type"] == cross.headers["content-type"] == "application/json"


async def test_the_short_way_keeps_every_limit(client: httpx.AsyncClient) -> None:
    framing = await client.post(
        "/rpc", content=b"{}", headers={"content-type": "application/json", "transfer-encoding": "chunked"}
    )
    assert framing.status_code == 400 and framing.json()["error"]["data"]["code"] == "BAD_REQUEST"
    wrong_type = await client.post("/rpc", content=b"{}", headers={"content-type": "text/plain"})
    assert wrong_type.json()["error"]["data"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert wrong_type.headers["x-request-id"]


def _stacks(app: Starlette) -> tuple[Any, Any]:
    """The app as served (the fast path in front) and the same app through Starlette's whole
    stack only (behind the request id middleware)."""
    app.middleware_stack = app.build_middleware_stack()
    fast = app.middleware_stack
    assert isinstance(fast, _FastPath) and isinstance(fast.full, RequestIdMiddleware)
    return fast, fast.full


REQUESTS = [
    ("GET", "/trpc/system.getLicense", None),
    ("GET", "/trpc/system.getLicense,no.such?batch=1&input=%7B%7D", None),
    ("GET", "/trpc/no.such", None),  # 404
    ("GET", "/trpc/", None),  # an empty path: 404 too
    ("GET", "/trpc/system.getLicense?input=%7Bnot-json", None),  # 400
    ("GET", "/trpc/system.getLicense?input=%ff", None),  # not UTF-8
    ("POST", "/trpc/system.getLicense", b"{}"),  # a query by POST: 405 with Allow
    ("POST", "/trpc/system.getLicense", None),  # no content type: 415
    ("PUT", "/trpc/system.getLicense", b"{}"),
    ("HEAD", "/trpc/system.getLicense", None),  # 204
    ("OPTIONS", "/trpc/system.getLicense", None),
    ("POST", "/trpc/auth.login", b'{"json":{"email":"nobody@example.com","password":"wrong"}}'),
    ("GET", "/trpc/system.getLicense%0A", None),  # the route pattern ($) takes it, as the router does
    ("POST", "/rpc", b'{"jsonrpc":"2.0","method":"system.getLicense","id":1}'),
    ("POST", "/rpc", b'[{"jsonrpc":"2.0","method":"no.such","id":1},{"jsonrpc":"2.0","method":"x"}]'),
]


async def test_answers_are_the_same_on_the_fast_path_and_the_whole_stack(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, full = _stacks(app)
    whole_stack_calls = 0
    fast_path = served
    original_full = fast_path.full

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        nonlocal whole_stack_calls
        whole_stack_calls += 1
        await original_full(scope, receive, send)

    monkeypatch.setattr(fast_path, "full", counted)
    answers: dict[str, list[tuple[int, list[tuple[str, str]], bytes]]] = {"fast": [], "full": []}
    for name, asgi in (("fast", served), ("full", full)):
        transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as http:
            for number, (method, url, body) in enumerate(REQUESTS):
                headers = {"x-request-id": f"same-{number}"}
                if body is not None:
                    headers["content-type"] = "application/json"
                response = await http.request(method, url, content=body, headers=headers)
                answers[name].append((response.status_code, response.headers.multi_items(), response.content))
    assert whole_stack_calls == 0  # none of them went through the whole stack on the served app
    assert answers["fast"] == answers["full"]
    statuses = [status for status, _, _ in answers["fast"]]
    assert statuses == [200, 207, 404, 404, 400, 400, 405, 415, 405, 204, 415, 401, 200, 200, 200]
    assert all(("vary", "Origin") in headers for _, headers, _ in answers["fast"])


async def test_trpc_with_an_origin_goes_through_cors(client: httpx.AsyncClient) -> None:
    plain = await client.get("/trpc/system.getLicense", headers={"x-request-id": "t-1"})
    cross = await client.get(
        "/trpc/system.getLicense", headers={"x-request-id": "t-2", "origin": "http://localhost:3000"}
    )
    assert plain.status_code == cross.status_code == 200 and plain.content == cross.content
    assert "access-control-allow-origin" not in plain.headers
    assert cross.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert plain.headers["x-request-id"] == "t-1" and plain.headers["vary"] == "Origin"


async def test_a_crash_on_the_fast_path_answers_like_starlettes_error_page(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, full = _stacks(app)

    monkeypatch.setattr(app.state.dispatcher, "registry", BrokenRegistry())
    answers = []
    for asgi in (served, full):
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as http:
            response = await http.get("/trpc/system.getLicense", headers={"x-request-id": "boom"})
            answers.append((response.status_code, response.headers.multi_items(), response.content))
    assert answers[0] == answers[1]
    assert answers[0][0] == 500 and b"secret-detail" not in answers[0][2]


class BrokenRegistry(dict[str, Any]):
    def get(self, *args: Any) -> Any:
        raise RuntimeError("secret-detail")
