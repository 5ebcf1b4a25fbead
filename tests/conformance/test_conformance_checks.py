"""The runner's checks catch each way a response can be wrong (they would pass anything otherwise)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tvms.conformance import Reply, Vector, check_vector, response_problems

GOOD_ERROR = {
    "jsonrpc": "2.0",
    "error": {
        "code": -32601,
        "message": "Method not found",
        "data": {"code": "METHOD_NOT_FOUND", "httpStatus": 404, "path": "x.y", "requestId": "r1"},
    },
    "id": 1,
}


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "2.0", "result": 19, "id": 1},
        {"jsonrpc": "2.0", "result": None, "id": None},
        {"jsonrpc": "2.0", "result": [], "id": "x"},
        {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None},
        GOOD_ERROR,
        [{"jsonrpc": "2.0", "result": 1, "id": 1}, GOOD_ERROR],
    ],
)
def test_valid_responses(body: Any) -> None:
    assert response_problems(body) == []


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"jsonrpc": "2.0", "result": 19}, "id: missing"),
        ({"jsonrpc": "1.0", "result": 19, "id": 1}, "jsonrpc"),
        ({"result": 19, "id": 1}, "jsonrpc"),
        ({"jsonrpc": "2.0", "id": 1}, "exactly one"),
        ({"jsonrpc": "2.0", "result": 1, "error": {"code": 1, "message": "m"}, "id": 1}, "exactly one"),
        ({"jsonrpc": "2.0", "result": 1, "id": True}, "id: must be"),
        ({"jsonrpc": "2.0", "result": 1, "id": {"a": 1}}, "id: must be"),
        ({"jsonrpc": "2.0", "result": 1, "id": 1, "extra": 0}, "unexpected members"),
        (
            {"jsonrpc": "2.0", "error": {"code": "-32600", "message": "m"}, "id": None},
            "code: must be an integer",
        ),
        ({"jsonrpc": "2.0", "error": {"code": True, "message": "m"}, "id": None}, "code: must be an integer"),
        ({"jsonrpc": "2.0", "error": {"code": -1}, "id": None}, "message: must be a string"),
        ({"jsonrpc": "2.0", "error": "boom", "id": None}, "error: must be an object"),
        ({"jsonrpc": "2.0", "error": {"code": -1, "message": "m", "stack": "x"}, "id": None}, "unexpected"),
        ([], "empty array"),
        ([{"jsonrpc": "2.0", "result": 1, "id": 1}, 5], "$[1]"),
        ("hello", "must be an object"),
    ],
)
def test_invalid_responses(body: Any, complaint: str) -> None:
    problems = response_problems(body)
    assert problems, body
    assert any(complaint in problem for problem in problems), problems


SINGLE = Vector("single", b"{}", Reply(1, result_keys=("valid",)))
ERROR = Vector("error", b"{}", Reply(1, -32601))
BATCH = Vector("batch", b"[]", (Reply(1), Reply(None, -32600)))
SILENT = Vector("silent", b"{}", None)
HEADERS = {"x-request-id": "r1"}


def check(vector: Vector, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return check_vector(vector, status, HEADERS if headers is None else headers, raw)


def test_check_vector_accepts_the_right_answers() -> None:
    assert check(SINGLE, {"jsonrpc": "2.0", "result": {"valid": True}, "id": 1}) == []
    assert check(ERROR, GOOD_ERROR) == []
    invalid = {**GOOD_ERROR, "id": None, "error": {**GOOD_ERROR["error"], "code": -32600}}
    # Any order is fine for a batch.
    assert check(BATCH, [invalid, {"jsonrpc": "2.0", "result": 1, "id": 1}]) == []
    assert check(SILENT, b"", status=204) == []


@pytest.mark.parametrize(
    ("vector", "body", "status", "headers", "complaint"),
    [
        (SINGLE, {"jsonrpc": "2.0", "result": {"valid": True}, "id": 2}, 200, None, "id 2, expected 1"),
        (SINGLE, {"jsonrpc": "2.0", "result": {"valid": True}, "id": "1"}, 200, None, "expected 1"),
        (SINGLE, {"jsonrpc": "2.0", "result": {}, "id": 1}, 200, None, "result lacks ['valid']"),
        (SINGLE, {"jsonrpc": "2.0", "result": {"valid": True}, "id": 1}, 500, None, "HTTP 500"),
        (SINGLE, {"jsonrpc": "2.0", "result": {"valid": True}, "id": 1}, 200, {}, "X-Request-Id"),
        (SINGLE, GOOD_ERROR, 200, None, "expected a result"),
        (SINGLE, b"<html>", 200, None, "not JSON"),
        (
            SINGLE,
            [{"jsonrpc": "2.0", "result": {"valid": True}, "id": 1}],
            200,
            None,
            "expected one response",
        ),
        (
            ERROR,
            {**GOOD_ERROR, "error": {**GOOD_ERROR["error"], "code": -32600}},
            200,
            None,
            "expected -32601",
        ),
        (ERROR, {**GOOD_ERROR, "error": {"code": -32601, "message": "m", "data": "x"}}, 200, None, "data"),
        (ERROR, {**GOOD_ERROR, "error": {"code": -32601, "message": "m"}}, 200, None, "error.data"),
        (
            ERROR,
            {
                **GOOD_ERROR,
                "error": {**GOOD_ERROR["error"], "data": {**GOOD_ERROR["error"]["data"], "requestId": "z"}},
            },
            200,
            None,
            "requestId",
        ),
        (BATCH, {"jsonrpc": "2.0", "result": 1, "id": 1}, 200, None, "expected a batch"),
        (BATCH, [{"jsonrpc": "2.0", "result": 1, "id": 1}], 200, None, "1 responses, expected 2"),
        (
            BATCH,
            [{"jsonrpc": "2.0", "result": 1, "id": 1}, {"jsonrpc": "2.0", "result": 1, "id": 2}],
            200,
            None,
            "no response matches",
        ),
        (SILENT, {"jsonrpc": "2.0", "result": 1, "id": None}, 200, None, "expected 204"),
        (SILENT, b"", 200, None, "expected 204"),
    ],
)
def test_check_vector_catches_wrong_answers(
    vector: Vector, body: Any, status: int, headers: dict[str, str] | None, complaint: str
) -> None:
    problems = check(vector, body, status, headers)
    assert any(complaint in problem for problem in problems), problems
