"""The superjson envelope, `{"json": …, "meta": {"values": …, "v": 1}}`, in both directions.

Inputs become the plain JSON our procedures take: a Date stays its ISO string (superjson
sends `toISOString()`, which is already the wire form `2024-11-15T12:00:00.000Z`), `undefined`
leaves the field out, a bigint becomes an integer, a Set a list. Values with no meaning in
JSON (Map with non-string keys, RegExp, NaN, classes, …) are refused rather than guessed at.

Outputs are plain JSON except `datetime` values (msgspec `datetime` fields), which go out as
superjson Dates so the client gets `Date` objects where the output type says "date". Our
usual ISO *string* fields stay strings: nothing in a string says it was meant as a date.

Annotation format as superjson 2.2 writes it: `values` is either a record of escaped dotted
paths to subtrees or, for the root itself, a node `[type, {path: subtree}?]`; children are
applied before their parent. Paths escape `\\` and `.` with a backslash when `v` >= 1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

_encode = msgspec.json.Encoder().encode


class EnvelopeError(Exception):
    """The input is not a superjson envelope we can turn into plain JSON (BAD_REQUEST)."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()
"""JavaScript `undefined`: an input that is absent (a whole input, or one field of it)."""


# ----- input ----------------------------------------------------------------------------------


# Limits on `meta.values`, checked before (path length) or while (depth, count) the tree is
# walked, so that the work per envelope is linear and small whatever the body holds: at most
# MAX_ANNOTATIONS paths of at most MAX_PATH_LENGTH characters, each followed MAX_PATH_DEPTH
# steps down. Real inputs (a few Dates, a Set, `undefined` fields) stay far below them.
MAX_PATH_LENGTH = 1024
MAX_PATH_DEPTH = 32
MAX_ANNOTATIONS = 1000

_TOKENS = re.compile(r"(\\\\|\\\.|\\|\.)")  # `\\`, `\.`, a stray `\`, or a separator
_LEGACY_TOKENS = re.compile(r"(\\\.|\.)")  # before v1 only `\.` escapes; other backslashes are text


def parse_path(text: str, legacy: bool) -> list[str]:
    """`a.b\\.c.0` → `["a", "b.c", "0"]`, as superjson parses it (legacy `v` < 1: only `\\.`).

    Refuses a path longer than MAX_PATH_LENGTH before reading it, and one of more than
    MAX_PATH_DEPTH segments; the splitting itself is done by `re`, in C.
    """
    if len(text) > MAX_PATH_LENGTH:
        raise EnvelopeError(f"A superjson path in meta.values is longer than {MAX_PATH_LENGTH} characters")
    if "\\" not in text:
        segments = text.split(".")
    else:
        segments = []
        segment: list[str] = []
        for token in (_LEGACY_TOKENS if legacy else _TOKENS).split(text):
            if token == ".":
                segments.append("".join(segment))
                segment = []
            elif token == "\\.":
                segment.append(".")
            elif token == "\\\\":
                segment.append("\\")
            elif token == "\\":
                raise EnvelopeError("Invalid superjson path in meta.values")
            else:
                segment.append(token)
        segments.append("".join(segment))
    if len(segments) > MAX_PATH_DEPTH:
        raise EnvelopeError(f"A superjson path in meta.values is deeper than {MAX_PATH_DEPTH} levels")
    return segments


def _untransform(value: Any, annotation: Any) -> Any:
    if annotation == "Date":
        if not isinstance(value, str):
            raise EnvelopeError("A superjson Date must be an ISO string")
        return value
    if annotation == "undefined":
        return UNDEFINED
    if annotation == "bigint":
        if not isinstance(value, str):
            raise EnvelopeError("A superjson bigint must be a string of digits")
        try:
            return int(value)
        except ValueError:
            raise EnvelopeError("A superjson bigint must be a string of digits") from None
    if annotation == "number":
        if value == "-0":
            return -0.0
        raise EnvelopeError("NaN and Infinity are not accepted as input")
    if annotation == "set":
        if not isinstance(value, list):
            raise EnvelopeError("A superjson Set must be an array")
        return value
    if annotation == "map":
        if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in value
        ):
            raise EnvelopeError("Only a Map with string keys is accepted as input")
        return {key: item for key, item in value}
    kind = annotation if isinstance(annotation, str) else "custom"
    raise EnvelopeError(f"Unsupported superjson value of type {kind!r}")


def _is_index(segment: str, length: int) -> bool:
    return len(segment) < 19 and segment.isascii() and segment.isdigit() and int(segment) < length


def _apply(holder: list[Any], path: list[str], annotation: Any) -> None:
    """Replace the value at `path` (inside `holder[0]`) by its untransformed value."""
    parent: Any = holder
    key: Any = 0
    for segment in path:
        parent = parent[key]
        if isinstance(parent, dict) and segment in parent:
            key = segment
        elif isinstance(parent, list) and _is_index(segment, len(parent)):
            key = int(segment)
        else:
            raise EnvelopeError("A superjson path in meta.values does not match the input")
    value = _untransform(parent[key], annotation)
    if value is UNDEFINED and isinstance(parent, dict):
        del parent[key]  # an `undefined` field is an absent field
    elif value is UNDEFINED and isinstance(parent, list) and parent is not holder:
        parent[key] = None  # as JSON.stringify writes `undefined` inside an array
    else:
        parent[key] = value


class _Budget:
    """How many more paths (keys of `meta.values` at any level) one envelope may hold."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_ANNOTATIONS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise EnvelopeError(f"meta.values holds more than {MAX_ANNOTATIONS} paths")


def _plan(
    tree: Any, origin: list[str], legacy: bool, budget: _Budget, plan: list[tuple[list[str], Any]]
) -> None:
    """Every (path, annotation) of `tree` in the order to apply them (children first).

    Only reads `meta.values`: the whole tree is checked against the limits before any
    annotation touches the input.
    """
    if not tree:
        return
    if isinstance(tree, dict):
        for key, subtree in tree.items():
            budget.spend()
            _plan(subtree, _join(origin, key, legacy), legacy, budget, plan)
        return
    if not isinstance(tree, list) or len(tree) not in (1, 2):
        raise EnvelopeError("meta.values is not a superjson annotation tree")
    if len(tree) == 2:
        if not isinstance(tree[1], dict):
            raise EnvelopeError("meta.values is not a superjson annotation tree")
        for key, subtree in tree[1].items():
            budget.spend()
            _plan(subtree, _join(origin, key, legacy), legacy, budget, plan)
    plan.append((origin, tree[0]))


def _join(origin: list[str], key: Any, legacy: bool) -> list[str]:
    if not isinstance(key, str):
        raise EnvelopeError("meta.values is not a superjson annotation tree")
    path = [*origin, *parse_path(key, legacy)]
    if len(path) > MAX_PATH_DEPTH:
        raise EnvelopeError(f"A superjson path in meta.values is deeper than {MAX_PATH_DEPTH} levels")
    return path


def decode_envelope(envelope: Any) -> Any:
    """A superjson envelope (already JSON-decoded) → plain JSON value, or `UNDEFINED`."""
    if not isinstance(envelope, dict):
        raise EnvelopeError('Expected a superjson envelope {"json": …, "meta": …}')
    holder = [envelope.get("json")] if "json" in envelope else [UNDEFINED]
    meta = envelope.get("meta")
    if meta is None:
        return holder[0]
    if not isinstance(meta, dict):
        raise EnvelopeError("superjson meta must be an object")
    version = meta.get("v", 0)
    legacy = not isinstance(version, int) or version < 1
    if holder[0] is UNDEFINED and meta.get("values") == ["undefined"]:
        return UNDEFINED
    # referentialEqualities only say that two places held the same object; the JSON
    # already carries a copy at each of them, which is all a plain input needs.
    plan: list[tuple[list[str], Any]] = []
    _plan(meta.get("values"), [], legacy, _Budget(), plan)
    for path, annotation in plan:
        _apply(holder, path, annotation)
    return holder[0]


# ----- output ---------------------------------------------------------------------------------


def _escape(segment: str) -> str:
    return segment.replace("\\", "\\\\").replace(".", "\\.")


def _iso(moment: datetime) -> str:
    """As JavaScript's `Date.prototype.toISOString()` writes it (naive counts as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _dates(value: Any, path: list[str], found: dict[str, list[str]]) -> Any:
    if isinstance(value, datetime):
        found[".".join(_escape(segment) for segment in path)] = ["Date"]
        return _iso(value)
    if isinstance(value, dict):
        return {key: _dates(item, [*path, key], found) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates(item, [*path, str(index)], found) for index, item in enumerate(value)]
    return value


def encode_output(value: Any) -> bytes:
    """A procedure's result → the encoded envelope `{"json": …[, "meta": …]}`."""
    plain = msgspec.to_builtins(value, builtin_types=(datetime,))
    if isinstance(plain, datetime):
        return b'{"json":' + _encode(_iso(plain)) + b',"meta":{"values":["Date"],"v":1}}'
    found: dict[str, list[str]] = {}
    plain = _dates(plain, [], found)
    if not found:
        return b'{"json":' + _encode(plain) + b"}"
    return _encode({"json": plain, "meta": {"values": found, "v": 1}})


def encode_plain(value: Any) -> bytes:
    """Without a transformer: the result as plain JSON (datetimes as ISO strings)."""
    return _encode(value)
