"""Every example of the JSON-RPC 2.0 specification, section 7, on the fixture procedures.

Method names are namespaced (`subtract` → `test.subtract`) and positional params become a
one-element array holding the input object, the only positional form we accept.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.rpc.fixture_api import calls, post, state_of, strip


async def answer(client: httpx.AsyncClient, body: Any) -> Any:
    response = await post(client, body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_call_with_positional_params(rpc_client: httpx.AsyncClient) -> None:
    first = {
        "jsonrpc": "2.0",
        "method": "test.subtract",
        "params": [{"minuend": 42, "subtrahend": 23}],
        "id": 1,
    }
    second = {
        "jsonrpc": "2.0",
        "method": "test.subtract",
        "params": [{"minuend": 23, "subtrahend": 42}],
        "id": 2,
    }
    assert await answer(rpc_client, first) == {"jsonrpc": "2.0", "result": 19, "id": 1}
    assert await answer(rpc_client, second) == {"jsonrpc": "2.0", "result": -19, "id": 2}


async def test_call_with_named_params(rpc_client: httpx.AsyncClient) -> None:
    first = {
        "jsonrpc": "2.0",
        "method": "test.subtract",
        "params": {"subtrahend": 23, "minuend": 42},
        "id": 3,
    }
    second = {
        "jsonrpc": "2.0",
        "method": "test.subtract",
        "params": {"minuend": 42, "subtrahend": 23},
        "id": 4,
    }
    assert await answer(rpc_client, first) == {"jsonrpc": "2.0", "result": 19, "id": 3}
    assert await answer(rpc_client, second) == {"jsonrpc": "2.0", "result": 19, "id": 4}


async def test_notifications(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    update = {"jsonrpc": "2.0", "method": "test.update", "params": [{"values": [1, 2, 3, 4, 5]}]}
    foobar = {"jsonrpc": "2.0", "method": "foobar"}
    for body in (update, foobar):
        response = await post(rpc_client, body)
        assert response.status_code == 204
        assert response.content == b""
    # The notification ran even though nothing was answered.
    assert state_of(rpc_app.state.services).updated == [1, 2, 3, 4, 5]
    assert calls(rpc_app) == ["test.update"]


async def test_non_existent_method(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, {"jsonrpc": "2.0", "method": "foobar", "id": "1"})
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32601}, "id": "1"}
    assert body["error"]["message"] == "Method not found"


async def test_invalid_json(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32700}, "id": None}
    assert body["error"]["message"].startswith("Parse error")


async def test_invalid_request_object(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert body["error"]["message"].startswith("Invalid Request")


async def test_batch_invalid_json(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    raw = b"""[
      {"jsonrpc": "2.0", "method": "test.sum", "params": [{"values": [1,2,4]}], "id": "1"},
      {"jsonrpc": "2.0", "method"
    ]"""
    body = await answer(rpc_client, raw)
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32700}, "id": None}
    assert calls(rpc_app) == []


async def test_empty_array(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, b"[]")
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}


async def test_invalid_batch_of_one(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, b"[1]")
    assert strip(body) == [{"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}]


async def test_invalid_batch_of_three(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, b"[1,2,3]")
    assert strip(body) == [{"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}] * 3


async def test_mixed_batch(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "test.sum", "params": [{"values": [1, 2, 4]}], "id": "1"},
        {"jsonrpc": "2.0", "method": "test.notifyHello", "params": [{"value": 7}]},
        {
            "jsonrpc": "2.0",
            "method": "test.subtract",
            "params": [{"minuend": 42, "subtrahend": 23}],
            "id": "2",
        },
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "test.getData", "id": "9"},
    ]
    body = await answer(rpc_client, batch)
    assert strip(body) == [
        {"jsonrpc": "2.0", "result": 7, "id": "1"},
        {"jsonrpc": "2.0", "result": 19, "id": "2"},
        {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None},
        {"jsonrpc": "2.0", "error": {"code": -32601}, "id": "5"},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
    ]
    assert calls(rpc_app) == ["test.sum", "test.notifyHello", "test.subtract", "test.getData"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_all_notification_batch(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette, content_type: str
) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "test.notifySum", "params": [{"values": [1, 2, 4]}]},
        {"jsonrpc": "2.0", "method": "test.notifyHello", "params": [{"value": 7}]},
    ]
    response = await post(rpc_client, batch, content_type=content_type)
    assert response.status_code == 204
    assert response.content == b""
    assert calls(rpc_app) == ["test.notifySum", "test.notifyHello"]
