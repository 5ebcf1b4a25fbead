"""The JSON-RPC 2.0 vectors, as data: request bytes and the answer a conforming server gives.

They follow the shapes of the spec's section 7 examples, on real procedures of the service
(`system.getLicense`, `system.timezone.getTimezoneSettings`, `system.health`), plus the batch
edge cases and limits of DESIGN.md §5. The runner and the test suite share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

Id = int | float | str | None

LICENSE = "system.getLicense"
TIMEZONE = "system.timezone.getTimezoneSettings"
# A query for signed-in users: the vectors that need a refused call use it rather than a
# mutation, so that even refused attempts leave nothing behind (the audit log records those).
SIGNED_IN_QUERY = "users.getAll"
HEALTH = "system.health"
UNKNOWN = "system.noSuchProcedure"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
UNAUTHORIZED = -32001
PAYLOAD_TOO_LARGE = -32013
UNSUPPORTED_MEDIA_TYPE = -32015

MAX_BATCH = 100
MAX_BODY = 10 * 1024 * 1024
DEEP = 100_000

_ABSENT: Any = object()


@dataclass(frozen=True, slots=True)
class Reply:
    """One expected response object: its id and error code (None = a result)."""

    id: Id
    code: int | None = None
    result_keys: tuple[str, ...] = ()  # members the result object must have


@dataclass(frozen=True, slots=True)
class Vector:
    """A request body and what must come back.

    `expect` is one `Reply`, a tuple of them for a batch (in any order, as the spec allows),
    or None when nothing may be answered (HTTP 204, empty body).
    """

    name: str
    body: bytes
    expect: Reply | tuple[Reply, ...] | None
    content_type: str = "application/json"

    @property
    def status(self) -> int:
        return 204 if self.expect is None else 200


def request(method: Any, params: Any = _ABSENT, id: Any = _ABSENT, **extra: Any) -> dict[str, Any]:
    """A request object; leave `id` out for a notification."""
    value: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not _ABSENT:
        value["params"] = params
    if id is not _ABSENT:
        value["id"] = id
    value.update(extra)
    return value


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


_LICENSE_KEYS = ("valid", "type", "maxUsers", "maxSensors")
_TIMEZONE_KEYS = ("timezone", "use24HourFormat", "dateFormat", "firstDayOfWeek")
_HEALTH_KEYS = ("status", "version", "checks")


def _vectors() -> list[Vector]:
    v: list[Vector] = []

    def add(name: str, body: Any, expect: Reply | tuple[Reply, ...] | None, **kw: Any) -> None:
        v.append(Vector(name, body if isinstance(body, bytes) else encode(body), expect, **kw))

    # --- single calls on real procedures (spec §7: rpc call with named / positional params)
    add("call, params by name", request(LICENSE, {}, 1), Reply(1, result_keys=_LICENSE_KEYS))
    add("call, no params", request(LICENSE, id="a-1"), Reply("a-1", result_keys=_LICENSE_KEYS))
    add("call, params {}", request(TIMEZONE, {}, 2), Reply(2, result_keys=_TIMEZONE_KEYS))
    add("call, params [{}]", request(TIMEZONE, [{}], 3), Reply(3, result_keys=_TIMEZONE_KEYS))
    add("call, params []", request(TIMEZONE, [], 4), Reply(4, result_keys=_TIMEZONE_KEYS))
    add("call, id null", request(HEALTH, id=None), Reply(None, result_keys=_HEALTH_KEYS))
    add("call, fractional id", request(LICENSE, id=1.5), Reply(1.5, result_keys=_LICENSE_KEYS))
    add("call, large integer id", request(LICENSE, id=2**53), Reply(2**53))
    add("call, empty string id", request(LICENSE, id=""), Reply(""))
    add(
        "call, whitespace around the body",
        b" \n\t" + encode(request(LICENSE, id=5)) + b"\r\n ",
        Reply(5, result_keys=_LICENSE_KEYS),
    )
    add("call, members in any order", b'{"id":6,"method":"system.getLicense","jsonrpc":"2.0"}', Reply(6))
    add("rpc.discover", request("rpc.discover", id=7), Reply(7, result_keys=("openrpc", "methods")))
    # --- notifications (spec §7: a Notification) are never answered, errors included
    add("notification", request(LICENSE), None)
    add("notification with params", request(TIMEZONE, [{}]), None)
    add("notification of an unknown method", request(UNKNOWN), None)
    add("notification with invalid params", request(LICENSE, {"bogus": 1}), None)
    add("notification needing auth", request(SIGNED_IN_QUERY, {"take": 1}), None)
    # --- errors with an id
    add("non-existent method", request(UNKNOWN, id="1"), Reply("1", METHOD_NOT_FOUND))
    add("method not dotted", request("foobar", id=8), Reply(8, METHOD_NOT_FOUND))
    add("rpc.* reserved, unknown", request("rpc.other", id=9), Reply(9, METHOD_NOT_FOUND))
    add("unknown param member", request(LICENSE, {"bogus": 1}, 10), Reply(10, INVALID_PARAMS))
    add("two positional params", request(TIMEZONE, [{}, {}], 11), Reply(11, INVALID_PARAMS))
    add(
        "wrong param type",
        request(SIGNED_IN_QUERY, {"take": "five"}, 12),
        Reply(12, UNAUTHORIZED),  # auth is checked before the input: nobody is signed in
    )
    # --- invalid JSON and invalid Request objects (spec §7): id null
    add(
        "invalid JSON",
        b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
        Reply(None, PARSE_ERROR),
    )
    add("empty body", b"", Reply(None, PARSE_ERROR))
    add("trailing garbage", encode(request(LICENSE, id=1)) + b"}", Reply(None, PARSE_ERROR))
    add("non-UTF-8 bytes", b'{"jsonrpc":"2.0","method":"\xff\xfe","id":1}', Reply(None, PARSE_ERROR))
    add(
        "NaN is not JSON",
        b'{"jsonrpc":"2.0","method":"system.getLicense","id":NaN}',
        Reply(None, PARSE_ERROR),
    )
    add(f"array nested {DEEP} deep", b"[" * DEEP + b"]" * DEEP, Reply(None, PARSE_ERROR))
    add(f"object nested {DEEP} deep", b'{"a":' * DEEP + b"1" + b"}" * DEEP, Reply(None, PARSE_ERROR))
    add(
        f"params nested {DEEP} deep",
        b'{"jsonrpc":"2.0","method":"system.getLicense","id":1,"params":' + b"[" * DEEP + b"]" * DEEP + b"}",
        Reply(None, PARSE_ERROR),
    )
    add(
        "invalid Request: method 1",
        b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
        Reply(None, INVALID_REQUEST),
    )
    add("params a string", request(LICENSE, "bar", 1), Reply(None, INVALID_REQUEST))
    add("params a number", request(LICENSE, 3, 1), Reply(None, INVALID_REQUEST))
    add("params null", request(LICENSE, None, 1), Reply(None, INVALID_REQUEST))
    add("id an object", request(LICENSE, id={"a": 1}), Reply(None, INVALID_REQUEST))
    add("id an array", request(LICENSE, id=[1]), Reply(None, INVALID_REQUEST))
    add("id a boolean", request(LICENSE, id=True), Reply(None, INVALID_REQUEST))
    add("jsonrpc 1.0", {"jsonrpc": "1.0", "method": LICENSE, "id": 1}, Reply(None, INVALID_REQUEST))
    add("jsonrpc missing", {"method": LICENSE, "id": 1}, Reply(None, INVALID_REQUEST))
    add("jsonrpc a number", {"jsonrpc": 2.0, "method": LICENSE, "id": 1}, Reply(None, INVALID_REQUEST))
    add("method missing", {"jsonrpc": "2.0", "id": 1}, Reply(None, INVALID_REQUEST))
    add("unknown member", request(LICENSE, id=1, extra=True), Reply(None, INVALID_REQUEST))
    add("request a string", encode("hello"), Reply(None, INVALID_REQUEST))
    add("request null", b"null", Reply(None, INVALID_REQUEST))
    add("request a number", b"42", Reply(None, INVALID_REQUEST))
    # --- batches (spec §7)
    add(
        "batch, invalid JSON",
        b'[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]',
        Reply(None, PARSE_ERROR),
    )
    add("batch, empty array", b"[]", Reply(None, INVALID_REQUEST))
    add("batch, [1]", b"[1]", (Reply(None, INVALID_REQUEST),))
    add("batch, [1,2,3]", b"[1,2,3]", (Reply(None, INVALID_REQUEST),) * 3)
    add(
        "batch, mixed",
        [
            request(LICENSE, {}, "1"),
            request(TIMEZONE, [{}]),
            request(TIMEZONE, [{}], "2"),
            {"foo": "boo"},
            request("foo.get", {"name": "myself"}, "5"),
            request(HEALTH, id="9"),
        ],
        (
            Reply("1", result_keys=_LICENSE_KEYS),
            Reply("2", result_keys=_TIMEZONE_KEYS),
            Reply(None, INVALID_REQUEST),
            Reply("5", METHOD_NOT_FOUND),
            Reply("9", result_keys=_HEALTH_KEYS),
        ),
    )
    add("batch, all notifications", [request(LICENSE), request(TIMEZONE, {}), request(UNKNOWN)], None)
    add(
        "batch, one call among notifications",
        [request(LICENSE), request(TIMEZONE, {}, 1), request(UNKNOWN)],
        (Reply(1, result_keys=_TIMEZONE_KEYS),),
    )
    add(
        "batch, each invalid element its own error",
        [request(LICENSE, id=1), {"jsonrpc": "2.0", "method": 1, "id": 2}, 7, request(LICENSE, id=3)],
        (Reply(1), Reply(None, INVALID_REQUEST), Reply(None, INVALID_REQUEST), Reply(3)),
    )
    add(
        "batch, duplicate ids answered each",
        [request(LICENSE, id=1), request(TIMEZONE, id=1)],
        (Reply(1), Reply(1)),
    )
    add(
        f"batch of {MAX_BATCH} (the limit)",
        [request(LICENSE, id=i) for i in range(MAX_BATCH)],
        tuple(Reply(i) for i in range(MAX_BATCH)),
    )
    add(
        f"batch of {MAX_BATCH + 1} (over the limit)",
        [request(LICENSE, id=i) for i in range(MAX_BATCH + 1)],
        Reply(None, INVALID_REQUEST),
    )
    add("batch, nested array", b"[[]]", (Reply(None, INVALID_REQUEST),))
    # --- HTTP-level limits
    add(
        "Content-Type text/plain",
        request(LICENSE, id=1),
        Reply(None, UNSUPPORTED_MEDIA_TYPE),
        content_type="text/plain",
    )
    add(
        "Content-Type form",
        request(LICENSE, id=1),
        Reply(None, UNSUPPORTED_MEDIA_TYPE),
        content_type="application/x-www-form-urlencoded",
    )
    add(
        "Content-Type with charset",
        request(LICENSE, id=1),
        Reply(1),
        content_type="application/json; charset=utf-8",
    )
    add(
        f"body over {MAX_BODY} bytes",
        encode(request(LICENSE, {"pad": "x" * MAX_BODY}, 1)),
        Reply(None, PAYLOAD_TOO_LARGE),
    )
    return v


VECTORS: tuple[Vector, ...] = tuple(_vectors())
