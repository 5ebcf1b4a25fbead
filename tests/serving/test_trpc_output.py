"""The tRPC adapter's fast output path gives exactly the bytes of superjson's own encoder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tvms.trpc import superjson
from tvms.trpc.endpoint import _may_hold_dates, result_encoder
from tvms.trpc.transformers import TRANSFORMERS


class Leaf(msgspec.Struct, rename="camel"):
    leaf_name: str
    score: float | None = None


class Tree(msgspec.Struct, rename="camel"):
    items: list[Leaf]
    by_key: dict[str, int]
    pair: tuple[int, str]
    child: Tree | None = None


class Dated(msgspec.Struct):
    events: list[dict[str, datetime | None]]


def _dates(kind: Any) -> bool:
    return _may_hold_dates(msgspec.inspect.type_info(kind), set())


def test_which_types_may_hold_dates() -> None:
    assert not _dates(Tree) and not _dates(int) and not _dates(list[Leaf])
    assert _dates(Dated) and _dates(datetime) and _dates(Any) and _dates(dict[str, Any])
    assert _dates(Leaf | datetime)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (Tree([Leaf("a", 1.5), Leaf("é\u2028", None)], {"x": 1}, (2, "b"), Tree([], {}, (0, ""))), Tree),
        ([Leaf("x")], list[Leaf]),
        (7, int),
        (None, None),
    ],
)
def test_the_fast_path_matches_superjson(value: Any, kind: Any) -> None:
    encode, opening, closing = result_encoder(TRANSFORMERS["superjson"], kind)
    assert encode is not superjson.encode_output  # the fast path, not the walk
    assert opening + encode(value) + closing == b'{"result":{"data":' + superjson.encode_output(value) + b"}}"


def test_dates_still_take_the_full_path() -> None:
    value = Dated([{"at": datetime(2026, 1, 2, tzinfo=UTC)}])
    assert b'"meta"' in superjson.encode_output(value)
