"""Errors as DESIGN.md §4: one code table, `error.data` always complete, nothing leaked."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.rpc.fixture_api import SECRET, post, req
from tvms.rpc import ErrorCode

RID = "req-0001"


async def error_of(client: httpx.AsyncClient, body: Any, **kw: Any) -> dict[str, Any]:
    response = await post(client, body, headers={"x-request-id": RID}, **kw)
    assert response.status_code == 200
    decoded: dict[str, Any] = response.json()
    assert "result" not in decoded
    return decoded["error"]


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
async def test_every_code_carries_the_standard_data(rpc_client: httpx.AsyncClient, code: ErrorCode) -> None:
    error = await error_of(rpc_client, req("test.fail", {"code": code.name, "message": "Nope"}))
    assert error == {
        "code": code.rpc_code,
        "message": "Nope",
        "data": {"code": code.name, "httpStatus": code.http_status, "path": "test.fail", "requestId": RID},
    }
    response = await rpc_client.get(
        f"/rpc/test.fail?input={quote(json.dumps({'code': code.name}))}", headers={"x-request-id": RID}
    )
    assert response.status_code == code.http_status
    assert response.json()["error"]["data"]["httpStatus"] == code.http_status


def test_the_code_table_matches_the_design() -> None:
    table = {code.name: code.value for code in ErrorCode}
    assert table["PARSE_ERROR"] == (-32700, 400)
    assert table["BAD_REQUEST"] == (-32600, 400)
    assert table["METHOD_NOT_FOUND"] == (-32601, 404)
    assert table["INVALID_PARAMS"] == (-32602, 400)
    assert table["INTERNAL_SERVER_ERROR"] == (-32603, 500)
    assert table["UNAUTHORIZED"] == (-32001, 401)
    assert table["FORBIDDEN"] == (-32003, 403)
    assert table["NOT_FOUND"] == (-32004, 404)
    assert table["TIMEOUT"] == (-32008, 408)
    assert table["CONFLICT"] == (-32009, 409)
    assert table["PRECONDITION_FAILED"] == (-32012, 412)
    assert table["PAYLOAD_TOO_LARGE"] == (-32013, 413)
    assert table["UNPROCESSABLE_CONTENT"] == (-32022, 422)
    assert table["TOO_MANY_REQUESTS"] == (-32029, 429)
    assert len({code.rpc_code for code in ErrorCode}) == len(ErrorCode)


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        (b"{", ErrorCode.PARSE_ERROR, None),
        (b'{"jsonrpc":"2.0","method":1}', ErrorCode.BAD_REQUEST, None),
        (b"[]", ErrorCode.BAD_REQUEST, None),
        (req("no.such"), ErrorCode.METHOD_NOT_FOUND, "no.such"),
        (req("test.subtract", {"minuend": 1}), ErrorCode.INVALID_PARAMS, "test.subtract"),
        (req("test.whoami"), ErrorCode.UNAUTHORIZED, "test.whoami"),
        (req("test.explode"), ErrorCode.INTERNAL_SERVER_ERROR, "test.explode"),
    ],
    ids=["parse", "invalid request", "empty batch", "not found", "params", "unauthorized", "internal"],
)
async def test_envelope_errors_carry_the_standard_data(
    rpc_client: httpx.AsyncClient, body: Any, code: ErrorCode, path: str | None
) -> None:
    error = await error_of(rpc_client, body)
    assert error["code"] == code.rpc_code
    data = error["data"]
    assert {key: data[key] for key in ("code", "httpStatus", "path", "requestId")} == {
        "code": code.name,
        "httpStatus": code.http_status,
        "path": path,
        "requestId": RID,
    }
    assert set(data) <= {"code", "httpStatus", "path", "requestId", "issues"}


async def test_http_level_errors_carry_the_standard_data(rpc_client: httpx.AsyncClient) -> None:
    error = await error_of(rpc_client, req("test.getData"), content_type="text/plain")
    assert error["data"] == {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "httpStatus": 415,
        "path": None,
        "requestId": RID,
    }


async def test_internal_errors_leak_nothing_and_are_logged_with_the_request_id(
    rpc_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tvms.rpc"):
        response = await post(rpc_client, req("test.explode"), headers={"x-request-id": RID})
        batch = await post(rpc_client, [req("test.explode", id=2), req("test.getData", id=3)])
    assert response.json() == {
        "jsonrpc": "2.0",
        "error": {
            "code": -32603,
            "message": "Internal server error",
            "data": {
                "code": "INTERNAL_SERVER_ERROR",
                "httpStatus": 500,
                "path": "test.explode",
                "requestId": RID,
            },
        },
        "id": 1,
    }
    for answer in (response, batch):
        assert SECRET not in answer.text
        assert "RuntimeError" not in answer.text
        assert "Traceback" not in answer.text
        assert all(SECRET not in value for value in answer.headers.values())
    assert batch.json()[1]["result"] == ["hello", 5]
    records = [r for r in caplog.records if r.name == "tvms.rpc" and r.levelno == logging.ERROR]
    assert len(records) == 2
    # The request id is a field of the JSON line, not part of the message text.
    assert records[0].fields == {"requestId": RID}  # type: ignore[attr-defined]
    assert RID not in records[0].getMessage()
    assert "test.explode" in records[0].getMessage()
    assert records[0].exc_info is not None  # the traceback goes to the log, not the wire
    assert records[1].fields == {"requestId": batch.headers["x-request-id"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"minuend": "x", "subtrahend": 1}, "$.minuend"),
        ([{"minuend": 1, "subtrahend": True}], "$.subtrahend"),
        ({"minuend": 1, "subtrahend": 2, "evil'; DROP TABLE x;--": 1}, "$"),
        ({"minuend": 1}, "$"),
    ],
    ids=["wrong type", "positional object", "unknown field", "missing field"],
)
async def test_validation_errors_carry_issues_with_paths(
    rpc_client: httpx.AsyncClient, params: Any, path: str
) -> None:
    error = await error_of(rpc_client, req("test.subtract", params))
    assert error["code"] == -32602
    issues = error["data"]["issues"]
    assert len(issues) == 1
    assert issues[0]["path"] == path
    assert isinstance(issues[0]["message"], str) and issues[0]["message"]
    assert f"`{path}`" in error["message"]


async def test_nested_validation_paths(rpc_client: httpx.AsyncClient) -> None:
    error = await error_of(rpc_client, req("test.sum", {"values": [1, 2, "three"]}))
    assert error["data"]["issues"] == [
        {"path": "$.values[2]", "message": "must be a whole number, not a string"}
    ]


async def test_unknown_field_names_the_field(rpc_client: httpx.AsyncClient) -> None:
    error = await error_of(rpc_client, req("test.subtract", {"minuend": 1, "subtrahend": 2, "bogus": 3}))
    assert "bogus" in error["data"]["issues"][0]["message"]
