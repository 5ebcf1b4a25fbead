"""Differential test: the same single requests to our dispatcher and to jsonrpcserver 5.0.9.

jsonrpcserver is an independent implementation of the same spec (DESIGN.md §5). Its methods
below are the fixture procedures written its way (context first, params as keyword arguments).
For every case the two must agree on the outcome: no answer, or a result with the same id and
value, or an error with the same id and code. Where we differ on purpose, the case is listed
in DELIBERATE_DIFFERENCES with the clause that decides it, and both answers are asserted exactly.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.rpc.fixture_api import SECRET, FixtureState, test_router
from tvms.cache import Cache
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.rpc import Caller, Credentials, Dispatcher, ErrorCode, Services, flatten

with warnings.catch_warnings():  # two import-time DeprecationWarnings (importlib.resources)
    warnings.simplefilter("ignore", DeprecationWarning)
    from jsonrpcserver import Error, InvalidParams, Result, Success, async_dispatch

RID = "diff-1"

# ----- the fixture procedures, jsonrpcserver style


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def subtract(context: object, minuend: Any, subtrahend: Any) -> Result:
    if not (_is_int(minuend) and _is_int(subtrahend)):
        return InvalidParams("minuend and subtrahend must be integers")
    return Success(minuend - subtrahend)


async def sum_(context: object, values: Any = None) -> Result:
    values = [] if values is None else values
    if not (isinstance(values, list) and all(_is_int(v) for v in values)):
        return InvalidParams("values must be a list of integers")
    return Success(sum(values))


async def get_data(context: object) -> Result:
    return Success(["hello", 5])


async def explode(context: object) -> Result:
    raise RuntimeError(SECRET)


async def fail(context: object, code: Any, message: str = "It failed") -> Result:
    if code not in ErrorCode.__members__:
        return InvalidParams("unknown code")
    return Error(ErrorCode[code].rpc_code, message)


THEIR_METHODS = {
    "test.subtract": subtract,
    "test.sum": sum_,
    "test.getData": get_data,
    "test.explode": explode,
    "test.fail": fail,
}


def _j(value: Any) -> bytes:
    return json.dumps(value).encode()


def _r(method: str, params: Any = ..., id: Any = 1, **extra: Any) -> bytes:
    value: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not ...:
        value["params"] = params
    if id is not ...:
        value["id"] = id
    return _j({**value, **extra})


SUB = {"minuend": 42, "subtrahend": 23}

# name → request body. Batches are not here: jsonrpcserver answers a batch holding one invalid
# element with one error for the whole batch (see DELIBERATE_DIFFERENCES at the end).
CASES: dict[str, bytes] = {
    # valid calls
    "named params": _r("test.subtract", SUB),
    "named params, other order": _r("test.subtract", {"subtrahend": 23, "minuend": 42}, 2),
    "string id": _r("test.subtract", SUB, "abc"),
    "empty string id": _r("test.subtract", SUB, ""),
    "null id": _r("test.subtract", SUB, None),
    "zero id": _r("test.subtract", SUB, 0),
    "negative id": _r("test.subtract", SUB, -7),
    "fractional id": _r("test.subtract", SUB, 1.5),
    "exponent id": b'{"jsonrpc":"2.0","method":"test.getData","id":1e2}',
    "64-bit id": _r("test.subtract", SUB, 2**63 + 1),
    "huge integer argument": _r("test.subtract", {"minuend": 2**70, "subtrahend": 1}),
    "no params": _r("test.getData"),
    "empty object params": _r("test.getData", {}),
    "empty array params": _r("test.getData", []),
    "default value used": _r("test.sum", {}),
    "list argument": _r("test.sum", {"values": [1, 2, 4]}),
    "whitespace around": b"\n  " + _r("test.getData") + b"  \n",
    "unicode id": _r("test.getData", id="Zürich ✓"),
    "duplicate member, last wins": b'{"jsonrpc":"2.0","method":"x.y","method":"test.getData","id":1}',
    # notifications
    "notification": _r("test.subtract", SUB, ...),
    "notification, unknown method": _r("no.such", ..., ...),
    "notification, invalid params": _r("test.subtract", {"minuend": 1}, ...),
    "notification, raising method": _r("test.explode", ..., ...),
    # method errors
    "unknown method": _r("foobar", id="1"),
    "empty method name": _r(""),
    "method name with a space": _r("test.subtract ", SUB),
    "method name case differs": _r("TEST.SUBTRACT", SUB),
    "rpc.* unknown": _r("rpc.other"),
    "missing argument": _r("test.subtract", {"minuend": 1}),
    "unknown argument": _r("test.subtract", {**SUB, "bogus": 1}),
    "argument to a method without input": _r("test.getData", {"x": 1}),
    "wrong argument type": _r("test.subtract", {"minuend": "42", "subtrahend": 23}),
    "boolean argument": _r("test.subtract", {"minuend": True, "subtrahend": 23}),
    "wrong list item type": _r("test.sum", {"values": [1, "2"]}),
    "raising method": _r("test.explode"),
    "application error": _r("test.fail", {"code": "NOT_FOUND", "message": "Sensor 'x' not found"}),
    "application error, conflict": _r("test.fail", {"code": "CONFLICT"}, "c"),
    # invalid Request objects
    "params a string": _r("test.subtract", "bar"),
    "params a number": _r("test.subtract", 3),
    "params true": _r("test.subtract", True),
    "params null": _r("test.subtract", None),
    "id an object": _r("test.getData", id={"a": 1}),
    "id an array": _r("test.getData", id=[1]),
    "id true": _r("test.getData", id=True),
    "jsonrpc 1.0": _j({"jsonrpc": "1.0", "method": "test.getData", "id": 1}),
    "jsonrpc missing": _j({"method": "test.getData", "id": 1}),
    "jsonrpc a number": _j({"jsonrpc": 2.0, "method": "test.getData", "id": 1}),
    "method missing": _j({"jsonrpc": "2.0", "id": 1}),
    "method a number": b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
    "method null": _j({"jsonrpc": "2.0", "method": None, "id": 1}),
    "unknown member": _r("test.getData", extra="x"),
    "request a string": b'"hello"',
    "request null": b"null",
    "request a number": b"42",
    "request true": b"true",
    "request an empty object": b"{}",
    # parse errors
    "invalid JSON": b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
    "empty body": b"",
    "whitespace only": b"   ",
    "trailing garbage": _r("test.getData") + b"}",
    "two objects": _r("test.getData") + _r("test.getData"),
    "single quotes": b"{'jsonrpc': '2.0', 'method': 'test.getData', 'id': 1}",
    "trailing comma": b'{"jsonrpc":"2.0","method":"test.getData","id":1,}',
    "UTF-8 byte order mark": b"\xef\xbb\xbf" + _r("test.getData"),
    "object nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "params nested 100,000 deep": b'{"jsonrpc":"2.0","method":"test.getData","id":1,"params":'
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    # cases where we differ on purpose (see DELIBERATE_DIFFERENCES)
    "rpc.discover": _r("rpc.discover"),
    "spec positional params": _r("test.subtract", [42, 23]),
    "one-element array holding the input": _r("test.subtract", [SUB]),
    "NaN id": b'{"jsonrpc":"2.0","method":"test.getData","id":NaN}',
    "Infinity id": b'{"jsonrpc":"2.0","method":"test.getData","id":1e400}',
    "lone surrogate in id": b'{"jsonrpc":"2.0","method":"test.getData","id":"\\ud800"}',
}

# ----- the two servers


async def ours(dispatcher: Dispatcher, body: bytes) -> Any:
    answer = await dispatcher.handle(body, Caller(Credentials()), RID)
    return None if answer is None else json.loads(answer)


async def theirs(body: bytes) -> Any:
    answer = await async_dispatch(body.decode(), methods=THEIR_METHODS, context=object())
    return json.loads(answer) if answer else None


def outcome(answer: Any) -> Any:
    """What the two must agree on: nothing, or (id, "result", value), or (id, "error", code)."""
    if answer is None:
        return None
    if "error" in answer:
        return (answer["id"], "error", answer["error"]["code"])
    return (answer["id"], "result", answer["result"])


@pytest.fixture(scope="module")
def dispatcher() -> Dispatcher:
    """Our dispatcher in process. The fixture procedures never touch the database, storage or
    cache, so none is opened: the comparison is about the envelope, on any engine."""
    clock = ManualClock()
    nothing: Any = None
    services = Services(
        config=Config(),
        db=nothing,
        storage=nothing,
        cache=Cache(clock),
        clock=clock,
        readiness=nothing,
        passwords=nothing,
        state=FixtureState(),
    )
    return Dispatcher(flatten([test_router]), services, discover=lambda caller: b'{"openrpc":"1.3.2"}')


# ----- where we differ on purpose


def _our_error(code: ErrorCode, message: str, path: str | None, id: Any, **extra: Any) -> dict[str, Any]:
    data = {"code": code.name, "httpStatus": code.http_status, "path": path, "requestId": RID, **extra}
    return {"jsonrpc": "2.0", "error": {"code": code.rpc_code, "message": message, "data": data}, "id": id}


def _their_error(code: int, message: str, data: Any, id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message, "data": data}, "id": id}


@dataclass(frozen=True)
class Difference:
    clause: str
    ours: Any  # the exact answer, or a predicate on it
    theirs: Any


PARSE = _our_error(ErrorCode.PARSE_ERROR, "Parse error", None, None)


def _their_nonfinite_id(check: Callable[[float], bool]) -> Callable[[Any], bool]:
    def matches(answer: Any) -> bool:
        return (
            answer["result"] == ["hello", 5]
            and check(answer["id"])
            and set(answer) == {"jsonrpc", "result", "id"}
        )

    return matches


DELIBERATE_DIFFERENCES: dict[str, Difference] = {
    "rpc.discover": Difference(
        "JSON-RPC 2.0 §4: names beginning with `rpc.` are reserved for system extensions; OpenRPC's"
        " service discovery extension defines `rpc.discover` (DESIGN.md §3).",
        {"jsonrpc": "2.0", "result": {"openrpc": "1.3.2"}, "id": 1},
        _their_error(-32601, "Method not found", "rpc.discover", 1),
    ),
    "spec positional params": Difference(
        "JSON-RPC 2.0 §4.2 lets a server take params by position or by name; our procedures take one"
        " input object, by name or as a one-element array (DESIGN.md §3), so two positional values"
        " are invalid params.",
        _our_error(
            ErrorCode.INVALID_PARAMS,
            "Invalid params: pass the input as an object or a one-element array",
            "test.subtract",
            1,
            issues=[{"path": "$", "message": "Expected at most one positional parameter"}],
        ),
        {"jsonrpc": "2.0", "result": 19, "id": 1},
    ),
    "one-element array holding the input": Difference(
        "JSON-RPC 2.0 §4.2, same choice: `[input]` is our by-position form; jsonrpcserver binds the"
        " object to the first positional parameter.",
        {"jsonrpc": "2.0", "result": 19, "id": 1},
        _their_error(-32602, "Invalid params", "missing a required argument: 'subtrahend'", 1),
    ),
    "raising method": Difference(
        "JSON-RPC 2.0 §5.1: `data` MAY be omitted and its value is defined by the server; we never"
        " put exception text in it (DESIGN.md §4) — same code and id, different data.",
        _our_error(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error", "test.explode", 1),
        _their_error(-32603, "Internal error", SECRET, 1),
    ),
    "NaN id": Difference(
        "JSON-RPC 2.0 §1 builds on JSON (RFC 4627); RFC 8259 §6: NaN and Infinity are not permitted"
        " numbers, so the body is not JSON. Python's json accepts NaN and echoes it (invalid JSON out).",
        PARSE,
        _their_nonfinite_id(math.isnan),
    ),
    "Infinity id": Difference(
        "RFC 8259 §6 (as above): 1e400 cannot be represented; Python's json reads it as inf and writes"
        " `Infinity`, which is not JSON.",
        PARSE,
        _their_nonfinite_id(math.isinf),
    ),
    "lone surrogate in id": Difference(
        "RFC 8259 §8.2: strings with unpaired surrogates have unpredictable behaviour; msgspec refuses"
        " them (a parse error) where Python's json passes them through.",
        PARSE,
        {"jsonrpc": "2.0", "result": ["hello", 5], "id": "\ud800"},
    ),
}


def _matches(expected: Any, answer: Any) -> bool:
    return bool(expected(answer)) if callable(expected) else expected == answer


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert set(DELIBERATE_DIFFERENCES) <= set(CASES)
    agreeing = len(CASES) - len(DELIBERATE_DIFFERENCES)
    assert agreeing >= 40


@pytest.mark.parametrize("name", [n for n in CASES if n not in DELIBERATE_DIFFERENCES])
async def test_we_agree_with_jsonrpcserver(dispatcher: Dispatcher, name: str) -> None:
    body = CASES[name]
    our_answer, their_answer = await ours(dispatcher, body), await theirs(body)
    assert outcome(our_answer) == outcome(their_answer), (our_answer, their_answer)


@pytest.mark.parametrize("name", list(DELIBERATE_DIFFERENCES))
async def test_deliberate_differences(dispatcher: Dispatcher, name: str) -> None:
    difference = DELIBERATE_DIFFERENCES[name]
    body = CASES[name]
    our_answer, their_answer = await ours(dispatcher, body), await theirs(body)
    assert _matches(difference.ours, our_answer), our_answer
    assert _matches(difference.theirs, their_answer), their_answer
    if name == "raising method":
        # Codes and ids still agree; only the leak differs.
        assert outcome(our_answer) == outcome(their_answer)
        assert SECRET not in json.dumps(our_answer)
    else:
        assert outcome(our_answer) != outcome(their_answer)


BATCH_DIFFERENCE = (
    "JSON-RPC 2.0 §6: a batch answer holds one response per request object (Invalid Request for"
    " each invalid element, spec example `[1,2,3]`); jsonrpcserver answers the whole batch with one error."
)


@pytest.mark.parametrize("body", [b"[1,2,3]", b'[{"jsonrpc":"2.0","method":"test.getData","id":1}, 5]'])
async def test_batch_with_an_invalid_element(dispatcher: Dispatcher, body: bytes) -> None:
    """BATCH_DIFFERENCE: one error per element for us, one for the whole batch for them."""
    our_answer, their_answer = await ours(dispatcher, body), await theirs(body)
    items = json.loads(body)
    assert isinstance(our_answer, list) and len(our_answer) == len(items)
    assert our_answer[-1]["error"]["code"] == -32600
    assert their_answer == _their_error(
        -32600, "Invalid request", "The request failed schema validation", None
    )
