"""The envelope rules beyond the spec's examples: ids, params, rpc.*, notifications, batches."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from tests.rpc.fixture_api import calls, post, req, state_of, strip, test_router
from tests.support import as_role
from tvms.app import Api, create_app
from tvms.config import Config
from tvms.rpc import PUBLIC, Context, Router, flatten

SUBTRACT = {"minuend": 42, "subtrahend": 23}


async def answer(client: httpx.AsyncClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    response = await post(client, body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], [], True, False], ids=repr)
async def test_invalid_id_types(rpc_client: httpx.AsyncClient, rpc_app: Starlette, bad_id: Any) -> None:
    body = await answer(rpc_client, req("test.subtract", SUBTRACT, bad_id))
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert calls(rpc_app) == []


@pytest.mark.parametrize("good_id", [0, -1, 1.5, "", "x" * 300, None, 2**63], ids=repr)
async def test_valid_ids_are_echoed(rpc_client: httpx.AsyncClient, good_id: Any) -> None:
    body = await answer(rpc_client, req("test.subtract", SUBTRACT, good_id))
    assert body == {"jsonrpc": "2.0", "result": 19, "id": good_id}


@pytest.mark.parametrize("params", ["bar", 3, 1.5, True, None], ids=repr)
async def test_scalar_or_null_params(rpc_client: httpx.AsyncClient, rpc_app: Starlette, params: Any) -> None:
    request = {"jsonrpc": "2.0", "method": "test.getData", "params": params, "id": 1}
    body = await answer(rpc_client, request)
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert calls(rpc_app) == []


@pytest.mark.parametrize(
    "params",
    [[SUBTRACT, SUBTRACT], [42, 23], [SUBTRACT, 1]],
    ids=["two objects", "spec positional", "object and number"],
)
async def test_more_than_one_positional_param(rpc_client: httpx.AsyncClient, params: Any) -> None:
    body = await answer(rpc_client, req("test.subtract", params))
    assert body["error"]["code"] == -32602
    assert body["id"] == 1


async def test_empty_params_mean_no_input(rpc_client: httpx.AsyncClient) -> None:
    for params in ({}, [], [{}]):
        body = await answer(rpc_client, req("test.getData", params))
        assert body["result"] == ["hello", 5], params
        body = await answer(rpc_client, req("test.sum", params))
        assert body["result"] == 0, params
    body = await answer(rpc_client, req("test.getData", {"surprise": 1}))
    assert body["error"]["code"] == -32602


@pytest.mark.parametrize(
    "request_object",
    [
        {"method": "test.getData", "id": 1},
        {"jsonrpc": "1.0", "method": "test.getData", "id": 1},
        {"jsonrpc": 2.0, "method": "test.getData", "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": None, "id": 1},
        {"jsonrpc": "2.0", "method": ["test.getData"], "id": 1},
        {"jsonrpc": "2.0", "method": "test.getData", "id": 1, "extra": 0},
        {"JSONRPC": "2.0", "method": "test.getData", "id": 1},
    ],
    ids=[
        "no jsonrpc",
        "jsonrpc 1.0",
        "jsonrpc number",
        "no method",
        "method null",
        "method list",
        "unknown member",
        "member case",
    ],
)
async def test_invalid_request_objects(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette, request_object: dict[str, Any]
) -> None:
    body = await answer(rpc_client, request_object)
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert calls(rpc_app) == []


async def test_rpc_discover_returns_the_openrpc_document(rpc_client: httpx.AsyncClient) -> None:
    body = await answer(rpc_client, req("rpc.discover"))
    document = body["result"]
    assert document["openrpc"].startswith("1.3")
    names = {method["name"] for method in document["methods"]}
    assert {"test.subtract", "test.getData", "rpc.discover"} <= names
    assert document == (await rpc_client.get("/openrpc.json")).json()


async def test_rpc_discover_as_a_notification_is_not_answered(rpc_client: httpx.AsyncClient) -> None:
    response = await post(rpc_client, req("rpc.discover", notification=True))
    assert response.status_code == 204


@pytest.mark.parametrize("name", ["rpc.other", "rpc.", "rpc", "rpc.discover.x", "RPC.discover"])
async def test_other_rpc_names_are_not_found(rpc_client: httpx.AsyncClient, name: str) -> None:
    body = await answer(rpc_client, req(name))
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32601}, "id": 1}


def test_a_router_cannot_register_rpc_names(config: Config) -> None:
    reserved = Router("rpc")

    @reserved.query("x", auth=PUBLIC)
    async def x(ctx: Context) -> int:
        """Would shadow the reserved namespace."""
        return 1

    with pytest.raises(ValueError, match=r"'rpc\.x'.*reserved"):
        flatten([reserved])
    with pytest.raises(ValueError, match="reserved"):
        create_app(config, Api(routers=[test_router, reserved]))


def test_a_router_cannot_alias_into_rpc(config: Config) -> None:
    nested = Router("rpc.discover")

    @nested.query("x", auth=PUBLIC)
    async def x(ctx: Context) -> int:
        """Would live under rpc.*."""
        return 1

    with pytest.raises(ValueError, match="reserved"):
        flatten([nested])


@pytest.mark.parametrize(
    ("request_object", "ran"),
    [
        (req("test.nothingHere", notification=True), []),
        (req("test.subtract", {"minuend": "x"}, notification=True), []),
        (req("test.subtract", {"bogus": 1}, notification=True), []),
        (req("test.explode", notification=True), ["test.explode"]),
        (req("test.fail", {"code": "NOT_FOUND"}, notification=True), ["test.fail"]),
        (req("test.whoami", notification=True), []),
        (req("rpc.other", notification=True), []),
    ],
    ids=["unknown", "bad type", "unknown field", "raises", "RpcError", "unauthorized", "rpc.other"],
)
async def test_notifications_are_never_answered(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette, request_object: dict[str, Any], ran: list[str]
) -> None:
    response = await post(rpc_client, request_object)
    assert response.status_code == 204
    assert response.content == b""
    assert calls(rpc_app) == ran


async def test_notification_errors_in_a_batch_are_not_answered(rpc_client: httpx.AsyncClient) -> None:
    batch = [
        req("test.explode", notification=True),
        req("test.nothingHere", notification=True),
        req("test.subtract", SUBTRACT, 1),
    ]
    body = await answer(rpc_client, batch)
    assert body == [{"jsonrpc": "2.0", "result": 19, "id": 1}]


async def test_each_invalid_batch_element_gets_its_own_error(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette
) -> None:
    batch = [
        req("test.subtract", SUBTRACT, 1),
        {"jsonrpc": "2.0", "method": 1, "id": 2},
        5,
        "x",
        None,
        [],
        {"jsonrpc": "2.0", "method": "test.subtract", "params": "p", "id": 3},
        {"jsonrpc": "2.0", "method": "test.subtract", "params": SUBTRACT, "id": {"x": 1}},
        req("test.subtract", {"minuend": 1}, 4),
        req("test.getData", id=5),
    ]
    body = await answer(rpc_client, batch)
    invalid = {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert strip(body) == [
        {"jsonrpc": "2.0", "result": 19, "id": 1},
        *[invalid] * 7,
        {"jsonrpc": "2.0", "error": {"code": -32602}, "id": 4},
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": 5},
    ]
    assert calls(rpc_app) == ["test.subtract", "test.getData"]


async def test_batch_over_the_limit_runs_nothing(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    batch = [req("test.increment", id=i) for i in range(101)]
    body = await answer(rpc_client, batch)
    assert isinstance(body, dict), "one error for the whole batch, not a list"
    assert strip(body) == {"jsonrpc": "2.0", "error": {"code": -32600}, "id": None}
    assert "100" in body["error"]["message"]
    assert calls(rpc_app) == []
    assert state_of(rpc_app.state.services).counter == 0


async def test_batch_at_the_limit_runs_everything(rpc_client: httpx.AsyncClient, rpc_app: Starlette) -> None:
    batch = [req("test.sum", {"values": [i]}, i) for i in range(100)]
    body = await answer(rpc_client, batch)
    assert [item["result"] for item in body] == list(range(100))
    assert len(calls(rpc_app)) == 100


async def test_batch_items_run_in_order_each_to_completion(
    rpc_client: httpx.AsyncClient, rpc_app: Starlette
) -> None:
    # `test.increment` yields between reading and writing the counter: run concurrently,
    # two increments would both read 0 and the queries would not see each other's writes.
    batch = [
        req("test.counter", id="q0"),
        req("test.increment", id="m1"),
        req("test.counter", id="q1"),
        req("test.increment", id="m2"),
        req("test.increment", id="m3"),
        req("test.counter", id="q3"),
    ]
    body = await answer(rpc_client, batch)
    assert [(item["id"], item["result"]) for item in body] == [
        ("q0", 0),
        ("m1", 1),
        ("q1", 1),
        ("m2", 2),
        ("m3", 3),
        ("q3", 3),
    ]
    assert calls(rpc_app) == [
        "test.counter",
        "test.increment",
        "test.counter",
        "test.increment",
        "test.increment",
        "test.counter",
    ]


async def test_one_unauthorised_item_fails_alone(rpc_client: httpx.AsyncClient) -> None:
    batch = [req("test.whoami", id=1), req("test.subtract", SUBTRACT, 2)]
    body = await answer(rpc_client, batch)
    assert strip(body) == [
        {"jsonrpc": "2.0", "error": {"code": -32001}, "id": 1},
        {"jsonrpc": "2.0", "result": 19, "id": 2},
    ]
    body = await answer(rpc_client, batch, headers=as_role("VIEWER", "u-7"))
    assert [item.get("result") for item in body] == ["u-7", 19]


async def test_duplicate_members_take_the_last(rpc_client: httpx.AsyncClient) -> None:
    # RFC 8259 §4 leaves duplicate names undefined; we behave like Python's json (last wins).
    raw = b'{"jsonrpc":"2.0","method":"test.nope","method":"test.getData","id":1}'
    assert (await answer(rpc_client, raw))["result"] == ["hello", 5]


async def test_responses_are_compact_json(rpc_client: httpx.AsyncClient) -> None:
    response = await post(rpc_client, req("test.getData"))
    assert response.headers["content-type"] == "application/json"
    assert msgspec.json.decode(response.content) == {"jsonrpc": "2.0", "result": ["hello", 5], "id": 1}
    assert int(response.headers["content-length"]) == len(response.content)
