"""`query_of` parses a query string exactly as `urllib.parse.parse_qs` does (blank values kept,
invalid UTF-8 refused)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tvms.rpc.http import query_of

PIECES = st.sampled_from(
    ["a", "b", "=", "&", "+", "%", "%2", "%41", "%7B", "%ff", "%C3%A9", "é", " ", ";", "1"]
)


def _expected(query: str) -> dict[str, list[str]] | type[UnicodeDecodeError]:
    try:
        return parse_qs(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return UnicodeDecodeError


def _parsed(query: str) -> dict[str, list[str]] | type[UnicodeDecodeError]:
    try:
        return query_of({"query_string": query.encode("latin-1")})
    except UnicodeDecodeError:
        return UnicodeDecodeError


@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_same_as_parse_qs(query: str) -> None:
    query = query.encode("utf-8").decode("latin-1")  # as the server hands it over: bytes
    assert _parsed(query) == _expected(query)


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("", {}),
        ("batch=1&input=%7B%7D", {"batch": ["1"], "input": ["{}"]}),
        ("a&a=&=x&&b=1+2", {"a": ["", ""], "": ["x"], "b": ["1 2"]}),
    ],
)
def test_examples(query: str, parsed: dict[str, list[str]]) -> None:
    assert query_of({"query_string": query.encode()}) == parsed
