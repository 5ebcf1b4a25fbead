"""The HTTP surface: limits, Content-Type, encodings, GET queries, request ids, CORS, side routes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from tests.rpc.fixture_api import calls, post, req, strip

LIMIT = 10 * 1024 * 1024
CHUNK = 64 * 1024
SUBTRACT = {"minuend": 42, "subtrahend": 23}
HEX16 = re.compile(r"^[0-9a-f]{16}$")


class Chunks:
    """A streamed request body that counts how many chunks the server pulled."""

    def __init__(self, count: int, chunk: bytes = b" " * CHUNK) -> None:
        self.count = count
        self.chunk = chunk
        self.consumed = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.consumed += 1
            yield self.chunk


async def test_streamed_body_over_the_limit_is_not_buffered(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette
) -> None:
    body = Chunks(count=4 * LIMIT // CHUNK)  # 40 MiB, no Content-Length
    response = await rpc_client.post("/rpc", content=body, headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 200
    assert strip(response.json()) == {"jsonrpc": "2.0", "error": {"code": -32013}, "id": None}
    # It stopped reading right after the limit: one chunk past it, not the 640 sent.
    assert body.consumed <= LIMIT // CHUNK + 1
    assert body.consumed < body.count // 3
    assert response.headers["connection"] == "close"
    assert calls(rpc_app) == []


async def test_declared_content_length_over_the_limit_reads_nothing(rpc_client: httpx.AsyncClient) -> None:
    body = Chunks(count=4)
    headers = {"content-type": "application/json", "content-length": str(LIMIT + 1)}
    response = await rpc_client.post("/rpc", content=body, headers=headers)
    assert strip(response.json()) == {"jsonrpc": "2.0", "error": {"code": -32013}, "id": None}
    assert body.consumed == 0


async def test_body_at_the_limit_is_accepted_and_one_byte_more_refused(rpc_client: httpx.AsyncClient) -> None:
    call = json.dumps(req("test.subtract", SUBTRACT)).encode()
    exact = call + b" " * (LIMIT - len(call))
    assert len(exact) == LIMIT
    assert (await post(rpc_client, exact)).json()["result"] == 19
    over = (await post(rpc_client, exact + b" ")).json()
    assert over["error"]["code"] == -32013
    assert over["error"]["data"]["httpStatus"] == 413


async def test_invalid_content_length(rpc_client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json", "content-length": "ten"}
    response = await rpc_client.post("/rpc", content=Chunks(count=1), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
    ],
)
async def test_wrong_content_type(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette, content_type: str | None
) -> None:
    response = await post(rpc_client, req("test.subtract", SUBTRACT), content_type=content_type)
    assert response.status_code == 200
    body = response.json()
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32015}, "id": None}
    assert body["error"]["data"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert calls(rpc_app) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/json-rpc"],
)
async def test_json_content_types(rpc_client: httpx.AsyncClient, content_type: str) -> None:
    response = await post(rpc_client, req("test.subtract", SUBTRACT), content_type=content_type)
    assert response.json()["result"] == 19


@pytest.mark.parametrize(
    "raw",
    [
        b'{"jsonrpc":"2.0","method":"test.\xff","id":1}',
        b'{"jsonrpc":"2.0","method":"test.subtract","params":{"minuend":"\xc3\x28"},"id":1}',
        b'[{"jsonrpc":"2.0","method":"test.getData","id":"\xed\xa0\x80"}]',
        b"\xff\xfe{}",
    ],
    ids=["in method", "in params", "in a batch (surrogate)", "UTF-16 BOM"],
)
async def test_non_utf8_bytes(rpc_client: httpx.AsyncClient, rpc_app: Starlette, raw: bytes) -> None:
    response = await post(rpc_client, raw)
    assert response.status_code == 200
    assert strip(response.json()) == {"jsonrpc": "2.0", "error": {"code": -32700}, "id": None}
    assert calls(rpc_app) == []


async def test_utf8_text_is_fine(rpc_client: httpx.AsyncClient) -> None:
    body = await post(rpc_client, req("test.getData", id="Zürich ✓ 東京"))
    assert body.json()["id"] == "Zürich ✓ 東京"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"jsonrpc":"2.0","method":"test.subtract","id":1,"params":'
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
        b'{"jsonrpc":"2.0","method":"test.subtract","id":1,"params":{"minuend":' + b'{"a":' * 100_000 + b"}",
        b"[" * 100_000,
    ],
    ids=["array", "object", "array in params", "object in params", "unclosed"],
)
async def test_deeply_nested_json(rpc_client: httpx.AsyncClient, raw: bytes) -> None:
    response = await post(rpc_client, raw)
    assert response.status_code == 200
    assert strip(response.json()) == {"jsonrpc": "2.0", "error": {"code": -32700}, "id": None}
    # The server keeps serving.
    assert (await post(rpc_client, req("test.subtract", SUBTRACT))).json()["result"] == 19


# ----- GET /rpc/{query}


def get_url(name: str, input: object | None = None) -> str:
    return f"/rpc/{name}" if input is None else f"/rpc/{name}?input={quote(json.dumps(input))}"


async def test_get_a_query(rpc_client: httpx.AsyncClient) -> None:
    response = await rpc_client.get(get_url("test.subtract", SUBTRACT))
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "result": 19, "id": None}
    assert (await rpc_client.get("/rpc/test.getData")).json()["result"] == ["hello", 5]


async def test_get_a_mutation_is_refused(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    response = await rpc_client.get(get_url("test.update", {"values": [1]}))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == -32005
    assert calls(rpc_app) == []
    assert (await rpc_client.get("/rpc/test.increment")).status_code == 405


async def test_get_an_unknown_name(rpc_client: httpx.AsyncClient) -> None:
    for name in ("test.nothing", "rpc.other", "x" * 5000):
        response = await rpc_client.get(f"/rpc/{name}")
        assert response.status_code == 404
        body = response.json()
        assert body["error"]["code"] == -32601
        assert len(body["error"]["data"]["path"]) <= 200


@pytest.mark.parametrize(
    "bad", ["{", "not json", '{"minuend": 1', "[" * 20_000], ids=["brace", "text", "cut", "deep, unclosed"]
)
async def test_get_with_bad_input_json(rpc_client: httpx.AsyncClient, bad: str) -> None:
    response = await rpc_client.get(f"/rpc/test.subtract?input={quote(bad)}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


async def test_get_with_invalid_input(rpc_client: httpx.AsyncClient) -> None:
    response = await rpc_client.get(get_url("test.subtract", {"minuend": "x", "subtrahend": 1}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32602
    assert error["data"]["issues"][0]["path"] == "$.minuend"
    assert (await rpc_client.get(get_url("test.subtract", [SUBTRACT]))).status_code == 400


async def test_get_error_status_follows_the_code(rpc_client: httpx.AsyncClient) -> None:
    response = await rpc_client.get(get_url("test.fail", {"code": "CONFLICT"}))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == -32009
    response = await rpc_client.get("/rpc/test.whoami")
    assert response.status_code == 401


async def test_post_to_a_procedure_url_is_refused(rpc_client: httpx.AsyncClient) -> None:
    response = await rpc_client.post("/rpc/test.subtract", json=SUBTRACT)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == -32005
    assert (await rpc_client.get("/rpc")).status_code == 405


# ----- X-Request-Id


async def test_request_id_is_echoed(rpc_client: httpx.AsyncClient) -> None:
    response = await post(
        rpc_client, req("test.subtract", SUBTRACT), headers={"x-request-id": "trace-42.a_b"}
    )
    assert response.headers["x-request-id"] == "trace-42.a_b"
    error = await post(rpc_client, req("test.nope"), headers={"x-request-id": "trace-43"})
    assert error.headers["x-request-id"] == "trace-43"
    assert error.json()["error"]["data"]["requestId"] == "trace-43"


@pytest.mark.parametrize("given", [None, "", "x" * 129, "has space", "naïve".encode(), "a\tb"], ids=repr)
async def test_request_id_is_created_when_missing_or_insane(
    rpc_client: httpx.AsyncClient, given: str | bytes | None
) -> None:
    headers: dict[str, str | bytes] = {} if given is None else {"x-request-id": given}
    response = await rpc_client.post("/rpc", json=req("test.subtract", SUBTRACT), headers=headers)
    assert HEX16.match(response.headers["x-request-id"])
    assert response.headers["x-request-id"] != given


async def test_request_id_on_errors_and_no_content(rpc_client: httpx.AsyncClient) -> None:
    responses = [
        await post(rpc_client, b"{"),
        await post(rpc_client, req("test.getData"), content_type="text/plain"),
        await post(rpc_client, req("test.getData", notification=True)),
        await post(rpc_client, [req("test.getData", notification=True)]),
        await rpc_client.get("/rpc/test.update"),
        await rpc_client.get("/rpc/test.nope"),
        await rpc_client.get("/healthz"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 204, 204, 405, 404, 200]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(HEX16.match(value) for value in ids)
    assert len(set(ids)) == len(ids)
    for response in responses[:2]:
        assert response.json()["error"]["data"]["requestId"] == response.headers["x-request-id"]


# ----- CORS


@pytest.mark.parametrize(
    "origin",
    ["https://foo.pages.dev", "https://a.b.pages.dev", "http://localhost:3000", "https://itms.solutions"],
)
async def test_cors_preflight_allowed(rpc_client: httpx.AsyncClient, origin: str) -> None:
    headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization, x-request-id",
    }
    response = await rpc_client.options("/rpc", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "POST" in response.headers["access-control-allow-methods"]
    simple = await post(rpc_client, req("test.getData"), headers={"origin": origin})
    assert simple.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://pages.dev.evil.example",
        "https://foo.pages.dev.evil.example",
        "http://foo.pages.dev",
        "http://localhost:3001",
        "https://evil.example/https://foo.pages.dev",
        "null",
    ],
)
async def test_cors_preflight_refused(rpc_client: httpx.AsyncClient, origin: str) -> None:
    headers = {"origin": origin, "access-control-request-method": "POST"}
    response = await rpc_client.options("/rpc", headers=headers)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = await post(rpc_client, req("test.getData"), headers={"origin": origin})
    assert "access-control-allow-origin" not in simple.headers


# ----- side routes


async def test_healthz(rpc_client: httpx.AsyncClient) -> None:
    response = await rpc_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics(rpc_client: httpx.AsyncClient) -> None:
    before = (await rpc_client.get("/metrics")).text
    assert "test.subtract" not in before
    await post(rpc_client, req("test.subtract", SUBTRACT))
    await post(rpc_client, req("test.subtract", SUBTRACT))
    await post(rpc_client, req("test.subtract", {"minuend": 1}))
    await post(rpc_client, req("test.explode"))
    response = await rpc_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'tvms_rpc_calls_total{procedure="test.subtract",outcome="OK"} 2' in text
    assert 'tvms_rpc_calls_total{procedure="test.subtract",outcome="INVALID_PARAMS"} 1' in text
    assert 'tvms_rpc_calls_total{procedure="test.explode",outcome="INTERNAL_SERVER_ERROR"} 1' in text
    assert 'tvms_rpc_call_duration_seconds_count{procedure="test.subtract"} 3' in text
    assert 'tvms_rpc_call_duration_seconds_bucket{procedure="test.subtract",le="+Inf"} 3' in text
    assert re.search(r'tvms_rpc_call_duration_seconds_sum\{procedure="test.subtract"\} \d+\.\d+', text)
    assert "# TYPE tvms_rpc_call_duration_seconds histogram" in text


def label_values(text: str) -> set[str]:
    return set(re.findall(r'procedure="([^"]*)"', text))


async def test_unknown_methods_add_no_label_values(rpc_client: httpx.AsyncClient) -> None:
    await post(rpc_client, req("test.getData"))
    for n in range(30):
        await post(rpc_client, req(f"made.up{n}"))
        await post(rpc_client, req(f"made.up{n}", notification=True))
        await rpc_client.get(f"/rpc/get.made{n}")
    await post(rpc_client, [req(f"batch.made{n}") for n in range(20)])
    labels = label_values((await rpc_client.get("/metrics")).text)
    assert not any("made" in label for label in labels), labels
    assert labels <= {"test.getData", "<unknown>"}


async def test_openrpc_json_equals_rpc_discover(rpc_client: httpx.AsyncClient) -> None:
    document = (await rpc_client.get("/openrpc.json")).json()
    discovered = (await post(rpc_client, req("rpc.discover"))).json()["result"]
    assert document == discovered
    assert any(method["name"] == "test.subtract" for method in document["methods"])


async def test_client_leaving_mid_body_is_not_a_server_error(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    messages = iter(
        [{"type": "http.request", "body": b'[{"jsonrpc":', "more_body": True}, {"type": "http.disconnect"}]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/rpc",
        "raw_path": b"/rpc",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"tvms.test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("tvms.test", 80),
    }
    with caplog.at_level(logging.ERROR):
        await rpc_app(scope, receive, send)
    assert sent == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert calls(rpc_app) == []
    # And the app keeps serving.
    assert (await post(rpc_client, req("test.subtract", SUBTRACT))).json()["result"] == 19
