"""Validation messages a person understands, with the field path kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from procedures import api
from tests.support import as_role, error
from tvms.rpc import flatten
from tvms.rpc.messages import INVALID_FORMAT, describe_pattern, humanize
from tvms.rpc.openrpc import build_document


async def test_a_bad_email_says_so(client: httpx.AsyncClient) -> None:
    params = {"email": "not-an-email", "password": "a-long-password", "firstName": "A", "lastName": "B"}
    failure = await error(client, "users.create", params, headers=as_role("ADMIN"))
    assert failure["data"]["issues"] == [{"path": "$.email", "message": "must be an email address"}]
    assert failure["message"] == "Invalid params: must be an email address - at `$.email`"
    assert "regex" not in failure["message"]


async def test_a_blank_name_says_so(client: httpx.AsyncClient) -> None:
    params = {"name": "   ", "address": "1 Main St", "type": "INTERSECTION", "latitude": 1, "longitude": 2}
    failure = await error(client, "locations.create", params, headers=as_role("OPERATOR"))
    assert failure["data"]["issues"] == [{"path": "$.name", "message": "must not be blank"}]


async def test_numbers_lists_and_types_read_as_words(client: httpx.AsyncClient) -> None:
    failure = await error(client, "locations.getAll", {"take": 0})
    assert failure["data"]["issues"] == [{"path": "$.take", "message": "must be at least 1"}]
    failure = await error(client, "locations.getAll", {"take": "ten"})
    assert failure["data"]["issues"] == [
        {"path": "$.take", "message": "must be a whole number, not a string"}
    ]


@pytest.mark.parametrize(
    ("raw", "human"),
    [
        ("Expected `int` >= 1", "must be at least 1"),
        ("Expected `int` <= 500", "must be at most 500"),
        ("Expected `float` > 0.0", "must be greater than 0"),
        ("Expected `str` of length >= 1", "must not be empty"),
        ("Expected `str` of length <= 100", "must be at most 100 characters long"),
        ("Expected `array` of length <= 500", "must hold at most 500 items"),
        ("Expected `array` of length >= 1", "must hold at least one item"),
        ("Expected `int | null`, got `str`", "must be a whole number or null, not a string"),
        ("Expected `int`, got `float`", "must be a whole number, not a decimal number"),
        ("Expected `str` matching regex '\\\\S'", "must not be blank"),
        ("Expected `str` matching regex '^[a-z]{3}$'", INVALID_FORMAT),
        ("Object contains unknown field `x`", "Object contains unknown field `x`"),
    ],
)
def test_humanize(raw: str, human: str) -> None:
    assert humanize(raw) == human


def _patterns(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        for value in node.values():
            found |= _patterns(value)
        return found
    if isinstance(node, list):
        return set().union(*(_patterns(item) for item in node)) if node else set()
    return set()


def test_every_pattern_of_the_api_has_words() -> None:
    document = build_document(flatten(api().routers), title="t", version="0", description="d")
    patterns = _patterns(document)
    assert patterns, "the API declares string patterns"
    unnamed = sorted(pattern for pattern in patterns if describe_pattern(pattern) == INVALID_FORMAT)
    assert not unnamed, f"patterns without a message a person understands: {unnamed}"
