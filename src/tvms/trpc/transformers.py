"""The two data transformers a tRPC client can be set up with: superjson, or none (plain JSON).

A tRPC server has exactly one, and its clients must use the same: there is no reliable way to
tell an envelope from a plain input that happens to have a `json` field, so it is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from tvms.trpc import superjson

TransformerName = Literal["superjson", "json"]
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Transformer:
    """How inputs arrive and how results and errors leave."""

    name: TransformerName
    decode_input: Callable[[Any], Any]
    """A JSON-decoded input → the plain input, or `superjson.UNDEFINED` when absent."""
    encode_output: Callable[[Any], bytes]
    """A procedure's result → the encoded `result.data` value."""
    wrap: Callable[[bytes], bytes]
    """An encoded plain value (an error shape) → as this transformer sends it."""


def _plain_input(value: Any) -> Any:
    return value


def _superjson_wrap(encoded: bytes) -> bytes:
    return b'{"json":' + encoded + b"}"


def _plain_wrap(encoded: bytes) -> bytes:
    return encoded


TRANSFORMERS: dict[TransformerName, Transformer] = {
    "superjson": Transformer(
        "superjson", superjson.decode_envelope, superjson.encode_output, _superjson_wrap
    ),
    "json": Transformer("json", _plain_input, superjson.encode_plain, _plain_wrap),
}
