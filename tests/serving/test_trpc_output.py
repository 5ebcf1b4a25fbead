"""The tRPC adapter's fast output path gives exactly the bytes of superjson's own encoder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tvms.trpc import superjson
from tvms.trpc.endpoint import _may_hold_dates, _superjson_without_dates


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
    "value",
    [
        Tree([Leaf("a", 1.5), Leaf("é\u2028", None)], {"x": 1}, (2, "b"), Tree([], {}, (0, ""))),
        [Leaf("x")],
        7,
        None,
    ],
)
def test_the_fast_path_matches_superjson(value: Any) -> None:
    assert _superjson_without_dates(value) == superjson.encode_output(value)


def test_dates_still_take_the_full_path() -> None:
    value = Dated([{"at": datetime(2026, 1, 2, tzinfo=UTC)}])
    assert b'"meta"' in superjson.encode_output(value)
