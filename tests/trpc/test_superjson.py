"""The superjson envelope, unit by unit and against the real superjson package (node)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from procedures.schemas import Output
from tvms.trpc.superjson import UNDEFINED, EnvelopeError, decode_envelope, encode_output, parse_path


@pytest.mark.parametrize(
    ("text", "legacy", "segments"),
    [
        ("a", False, ["a"]),
        ("a.b.0", False, ["a", "b", "0"]),
        ("a\\.b", False, ["a.b"]),
        ("a\\\\.b", False, ["a\\", "b"]),
        ("", False, [""]),
        ("a\\.b", True, ["a.b"]),
        ("a\\b", True, ["a\\b"]),
    ],
)
def test_parse_path(text: str, legacy: bool, segments: list[str]) -> None:
    assert parse_path(text, legacy) == segments


def test_parse_path_refuses_a_stray_backslash() -> None:
    with pytest.raises(EnvelopeError):
        parse_path("a\\b", False)


@pytest.mark.parametrize(
    ("envelope", "plain"),
    [
        ({"json": {"a": 1}}, {"a": 1}),
        ({"json": None}, None),
        ({}, UNDEFINED),
        ({"json": None, "meta": {"values": ["undefined"], "v": 1}}, UNDEFINED),
        (
            {"json": "2024-11-15T12:00:00.000Z", "meta": {"values": ["Date"], "v": 1}},
            "2024-11-15T12:00:00.000Z",
        ),
        (
            {
                "json": {"a": None, "b": [None, 1]},
                "meta": {"values": {"a": ["undefined"], "b.0": ["undefined"]}},
            },
            {"b": [None, 1]},
        ),
        (
            {"json": {"n": "123456789012345678901234567890"}, "meta": {"values": {"n": ["bigint"]}}},
            {"n": 123456789012345678901234567890},
        ),
        ({"json": {"z": "-0"}, "meta": {"values": {"z": ["number"]}}}, {"z": -0.0}),
        (
            {
                "json": {"m": [["k", "1970-01-01T00:00:00.000Z"]]},
                "meta": {"values": {"m": ["map", {"0.1": ["Date"]}]}, "v": 1},
            },
            {"m": {"k": "1970-01-01T00:00:00.000Z"}},
        ),
        ({"json": {"a.b": "x"}, "meta": {"values": {"a\\.b": ["Date"]}, "v": 1}}, {"a.b": "x"}),
        (
            {"json": {"a": {"x": 1}, "b": {"x": 1}}, "meta": {"referentialEqualities": {"a": ["b"]}, "v": 1}},
            {"a": {"x": 1}, "b": {"x": 1}},
        ),
    ],
)
def test_decode(envelope: dict[str, Any], plain: Any) -> None:
    assert decode_envelope(envelope) == plain


@pytest.mark.parametrize(
    "envelope",
    [
        ["not", "an", "envelope"],
        "text",
        {"json": 1, "meta": "x"},
        {"json": {"a": 1}, "meta": {"values": {"b": ["Date"]}}},  # path not in the input
        {"json": {"a": [1]}, "meta": {"values": {"a.5": ["Date"]}}},
        {"json": {"a": [1]}, "meta": {"values": {"a.x": ["Date"]}}},
        {"json": {"a": 1}, "meta": {"values": {"a": ["Date"]}}},  # a Date must be a string
        {"json": {"a": "NaN"}, "meta": {"values": {"a": ["number"]}}},
        {"json": {"a": "/x/g"}, "meta": {"values": {"a": ["regexp"]}}},
        {"json": {"a": {}}, "meta": {"values": {"a": [["class", "User"]]}}},
        {"json": {"a": "1"}, "meta": {"values": {"a": [["custom", "decimal.js"]]}}},
        {"json": {"a": "12x"}, "meta": {"values": {"a": ["bigint"]}}},
        {"json": {"a": "9" * 5000}, "meta": {"values": {"a": ["bigint"]}}},
        {"json": {"m": [[1, 2]]}, "meta": {"values": {"m": ["map"]}}},
        {"json": {"a": 1}, "meta": {"values": {"a": 5}}},
        {"json": {"a": 1}, "meta": {"values": {"a": ["Date", "x"]}}},
        {"json": {"a": {"b": 1}}, "meta": {"values": {"a\\x": ["Date"]}, "v": 1}},
    ],
)
def test_decode_refuses(envelope: Any) -> None:
    with pytest.raises(EnvelopeError):
        decode_envelope(envelope)


class Event(Output):
    at: datetime
    when_text: str
    later: list[datetime]
    nested: dict[str, datetime]


def test_encode_marks_datetimes_as_dates() -> None:
    at = datetime(2024, 11, 15, 12, 0, 0, 123456, tzinfo=UTC)
    value = Event(
        at=at,
        when_text="2024-11-15T12:00:00.000Z",
        later=[at.astimezone(timezone(timedelta(hours=5)))],
        nested={"a.b": datetime(2024, 1, 1)},  # naive: counts as UTC
    )
    encoded = msgspec.json.decode(encode_output(value))
    assert encoded == {
        "json": {
            "at": "2024-11-15T12:00:00.123Z",
            "whenText": "2024-11-15T12:00:00.000Z",
            "later": ["2024-11-15T12:00:00.123Z"],
            "nested": {"a.b": "2024-01-01T00:00:00.000Z"},
        },
        "meta": {"values": {"at": ["Date"], "later.0": ["Date"], "nested.a\\.b": ["Date"]}, "v": 1},
    }


def test_encode_plain_values_have_no_meta() -> None:
    assert (
        encode_output({"a": [1, "2024-01-01T00:00:00.000Z"]})
        == b'{"json":{"a":[1,"2024-01-01T00:00:00.000Z"]}}'
    )
    assert encode_output(None) == b'{"json":null}'
    root = msgspec.json.decode(encode_output(datetime(2024, 1, 1, tzinfo=UTC)))
    assert root == {"json": "2024-01-01T00:00:00.000Z", "meta": {"values": ["Date"], "v": 1}}


SERIALIZE = """
import superjson from 'superjson';
const cases = {
  date: {at: new Date('2024-11-15T12:00:00.000Z'), label: 'x'},
  undef: {a: undefined, b: [undefined, 1], c: 2},
  nested: {
    list: [{at: new Date(0)}, {at: new Date(1)}],
    'dotted.key': new Date(2),
    'back\\\\slash': new Date(3),
  },
  big: {n: 12345678901234567890n},
  set: {tags: new Set(['a', 'b'])},
  map: {m: new Map([['k', new Date(5)]])},
  root: new Date(7),
  none: undefined,
  shared: (() => { const o = {x: 1}; return {a: o, b: o}; })(),
};
const out = {};
for (const [name, value] of Object.entries(cases)) out[name] = superjson.serialize(value);
console.log(JSON.stringify(out));
"""

DESERIALIZE = """
import superjson from 'superjson';
const encoded = JSON.parse(process.argv[1]);
const value = superjson.deserialize(encoded);
const describe = (v) => v instanceof Date ? {date: v.toISOString()} :
  Array.isArray(v) ? v.map(describe) :
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)])) : v;
console.log(JSON.stringify(describe(value)));
"""


def node(client_dir: Path, script: str, *args: str) -> Any:
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, *args],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_real_superjson_envelopes_decode(node_client: Path) -> None:
    envelopes = node(node_client, SERIALIZE)
    plain = {name: decode_envelope(envelope) for name, envelope in envelopes.items()}
    assert plain == {
        "date": {"at": "2024-11-15T12:00:00.000Z", "label": "x"},
        "undef": {"b": [None, 1], "c": 2},
        "nested": {
            "list": [{"at": "1970-01-01T00:00:00.000Z"}, {"at": "1970-01-01T00:00:00.001Z"}],
            "dotted.key": "1970-01-01T00:00:00.002Z",
            "back\\slash": "1970-01-01T00:00:00.003Z",
        },
        "big": {"n": 12345678901234567890},
        "set": {"tags": ["a", "b"]},
        "map": {"m": {"k": "1970-01-01T00:00:00.005Z"}},
        "root": "1970-01-01T00:00:00.007Z",
        "none": UNDEFINED,
        "shared": {"a": {"x": 1}, "b": {"x": 1}},
    }


def test_real_superjson_reads_our_dates(node_client: Path) -> None:
    at = datetime(2024, 11, 15, 12, 0, 0, 500000, tzinfo=UTC)
    value = Event(at=at, when_text="2024-11-15T12:00:00.000Z", later=[at], nested={"x.y\\z": at})
    got = node(node_client, DESERIALIZE, encode_output(value).decode())
    date = {"date": "2024-11-15T12:00:00.500Z"}
    assert got == {
        "at": date,
        "whenText": "2024-11-15T12:00:00.000Z",  # a string field stays a string
        "later": [date],
        "nested": {"x.y\\z": date},
    }
