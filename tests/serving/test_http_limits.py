"""What every HTTP server behind `tvms serve` must do, proven on each one with real sockets:
the request id, CORS, body limit, request timeout, body deadline, the bound on bytes held by
unfinished bodies, refusal of ambiguous framing, graceful shutdown, the access log."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import LiveServer, free_port, live_server

SERVERS = ["uvicorn", "hypercorn"]
MAX_BODY = 65_536
BUFFER = 2 * MAX_BODY
BODY_TIMEOUT = 1.5
REQUEST_TIMEOUT = 1.0
STARTUP = 90.0  # the machine may be busy: a slow start is not what these tests check
WAIT = 20.0  # the most any socket read below waits before the test fails


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    name: str = request.param
    base = tmp_path_factory.mktemp(name)
    env = {
        "TVMS_SERVER": name,
        "TVMS_DATA_DIR": str(base / "data"),
        "TVMS_DATABASE_URL": "",
        "TVMS_MAX_BODY_BYTES": str(MAX_BODY),
        "TVMS_BODY_BUFFER_BYTES": str(BUFFER),
        "TVMS_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "TVMS_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
    }
    port = free_port()
    args = ["-m", "tests.serving.run", "--port", str(port)]
    with live_server(env, base / "serve.log", args=args, port=port, timeout=STARTUP) as live:
        yield live


def _port(server: LiveServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(server)), timeout=WAIT)
    return sock


def _headers(length: int) -> bytes:
    return (
        b"POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails after WAIT s)."""
    data = b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server kept the connection open; got {data[:300]!r}")


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _json_body(response: bytes) -> dict[str, object]:
    body: dict[str, object] = json.loads(response.split(b"\r\n\r\n", 1)[1])
    return body


def _error_code(response: bytes) -> object:
    error = _json_body(response)["error"]
    assert isinstance(error, dict)
    return error["data"]["code"]


def test_request_id_cors_and_a_call(server: LiveServer) -> None:
    origin = "http://localhost:3000"
    response = httpx.post(
        f"{server.url}/rpc",
        json={"jsonrpc": "2.0", "method": "system.getLicense", "id": 1},
        headers={"x-request-id": "serving-trace-1", "origin": origin},
    )
    assert response.status_code == 200 and response.json()["result"]["type"] == "enterprise"
    assert response.headers["x-request-id"] == "serving-trace-1"
    assert response.headers["access-control-allow-origin"] == origin
    preflight = httpx.options(
        f"{server.url}/rpc",
        headers={"origin": origin, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    evil = httpx.options(
        f"{server.url}/rpc",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in evil.headers
    generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert len(generated) == 16


def test_body_limit(server: LiveServer) -> None:
    body = b"[" + b" " * MAX_BODY + b"]"
    response = httpx.post(f"{server.url}/rpc", content=body, headers={"content-type": "application/json"})
    assert response.json()["error"]["data"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["connection"] == "close"


def test_request_timeout(server: LiveServer) -> None:
    call = {"jsonrpc": "2.0", "method": "serving.sleep", "params": {"seconds": 30}, "id": 1}
    response = httpx.post(f"{server.url}/rpc", json=call, timeout=WAIT)
    assert response.json()["error"]["data"]["code"] == "TIMEOUT"
    trpc = httpx.get(f"{server.url}/trpc/serving.sleep", params={"input": '{"json":{"seconds":30}}'})
    assert trpc.status_code == 408


def test_content_length_with_transfer_encoding_is_refused_and_closed(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            b"POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
        )
        response = _read_until_closed(sock)
    assert _status(response) == 400
    assert response.count(b"HTTP/1.1") == 1  # the smuggled second request never ran


def test_a_trickling_body_is_cut_off_at_the_deadline(server: LiveServer) -> None:
    """Fifty clients that send headers, then a byte now and then: each answered 408 and closed."""
    socks = [_connect(server) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(_headers(100) + b"[")
        started = time.monotonic()
        for sock in socks[:5]:  # a second byte, as a slow client would send it
            sock.sendall(b" ")
        answers = [_read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert time.monotonic() - started < WAIT
    assert {_status(answer) for answer in answers} == {408}
    assert {_error_code(answer) for answer in answers} == {"TIMEOUT"}
    assert all(b"connection: close" in answer.lower() for answer in answers)
    # A client on time is still served.
    call = {"jsonrpc": "2.0", "method": "system.getLicense", "id": 2}
    assert httpx.post(f"{server.url}/rpc", json=call).json()["result"]["valid"] is True


def test_unfinished_bodies_hold_a_bounded_amount_of_memory(server: LiveServer) -> None:
    """Four bodies stopped just short of the limit would hold 4 x 64 KiB: past the process's
    bound (128 KiB) they are refused (429, Retry-After, closed) instead of buffered."""
    socks = [_connect(server) for _ in range(4)]
    try:
        for sock in socks:
            sock.sendall(_headers(MAX_BODY) + b"[" + b" " * (MAX_BODY - 100))
        answers = [_read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    statuses = sorted(_status(answer) for answer in answers)
    refused = [answer for answer in answers if _status(answer) == 429]
    assert len(refused) >= 2 and set(statuses) <= {408, 429}, statuses
    assert all(b"retry-after: 1" in answer.lower() for answer in refused)
    assert {_error_code(answer) for answer in refused} == {"TOO_MANY_REQUESTS"}
    # Everything held was given back: a full-size body is read again.
    big = b'{"jsonrpc":"2.0","method":"system.getLicense","id":3}'.ljust(MAX_BODY - 10)
    response = httpx.post(f"{server.url}/rpc", content=big, headers={"content-type": "application/json"})
    assert response.json()["result"]["valid"] is True


def test_trpc_refuses_slow_and_unbounded_bodies_alike(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /trpc/auth.logout HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer = _read_until_closed(sock)
    assert _status(answer) == 408
    error = _json_body(answer)["error"]
    assert isinstance(error, dict) and error["json"]["data"]["code"] == "TIMEOUT"


@pytest.mark.parametrize("name", SERVERS)
def test_graceful_shutdown_finishes_the_call_in_flight(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "call.started"
    port = free_port()
    env = {"TVMS_SERVER": name, "TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": ""}
    answers: list[httpx.Response] = []
    call = {
        "jsonrpc": "2.0",
        "method": "serving.sleep",
        "params": {"seconds": 1.5, "marker": str(marker)},
        "id": 9,
    }
    args = ["-m", "tests.serving.run", "--port", str(port)]
    with live_server(env, tmp_path / "serve.log", args=args, port=port, timeout=STARTUP) as live:

        def make_the_call() -> None:
            answers.append(httpx.post(f"{live.url}/rpc", json=call, timeout=WAIT))

        caller = threading.Thread(target=make_the_call)
        caller.start()
        deadline = time.monotonic() + WAIT
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), live.stderr
        live.process.send_signal(signal.SIGTERM)
        caller.join(WAIT)
        live.process.wait(WAIT)
    assert answers and answers[0].json() == {"jsonrpc": "2.0", "result": {"slept": 1.5}, "id": 9}
    assert live.process.returncode == 0, live.stderr


def test_the_access_log_has_one_line_per_request(server: LiveServer) -> None:
    batch = [{"jsonrpc": "2.0", "method": "system.getLicense", "id": n} for n in range(3)]
    batch.append({"jsonrpc": "2.0", "method": "no.such", "id": 4})
    httpx.post(f"{server.url}/rpc", json=batch, headers={"x-request-id": "serving-batch-1"})
    httpx.post(
        f"{server.url}/rpc",
        json={"jsonrpc": "2.0", "method": "system.getLicense", "id": 5},
        headers={"x-request-id": "serving-one-1"},
    )
    deadline = time.monotonic() + WAIT
    while "serving-one-1" not in server.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    batch_lines = [line for line in lines if line.get("requestId") == "serving-batch-1"]
    one = [line for line in lines if line.get("requestId") == "serving-one-1"]
    assert len(batch_lines) == 1 and len(one) == 1
    assert batch_lines[0]["calls"] == 4
    assert batch_lines[0]["procedures"] == {"system.getLicense": 3, "<unknown>": 1}
    assert batch_lines[0]["outcomes"] == {"OK": 3, "METHOD_NOT_FOUND": 1}
    assert (one[0]["procedure"], one[0]["outcome"], one[0]["logger"]) == (
        "system.getLicense",
        "OK",
        "tvms.access",
    )
