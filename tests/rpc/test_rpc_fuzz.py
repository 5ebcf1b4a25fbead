"""Random JSON bodies never produce a 5xx or an exception, and always a valid JSON-RPC answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rpc.fixture_api import post
from tvms.conformance import response_problems

METHODS = st.sampled_from(
    [
        "test.subtract",
        "test.sum",
        "test.getData",
        "test.update",
        "test.explode",
        "test.fail",
        "test.whoami",
        "rpc.discover",
        "rpc.x",
        "no.such",
        "",
    ]
)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
IDS = (
    st.none() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False, allow_infinity=False) | JSON
)


@st.composite
def request_like(draw: st.DrawFn) -> Any:
    """Mostly near-valid request objects, with members randomly dropped, added or mistyped."""
    value: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        value["jsonrpc"] = draw(st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]))
    if draw(st.integers(0, 9)):
        value["method"] = draw(METHODS | JSON)
    if draw(st.booleans()):
        value["params"] = draw(
            st.fixed_dictionaries(
                {}, optional={"minuend": JSON, "subtrahend": JSON, "values": JSON, "code": JSON}
            )
            | JSON
        )
    if draw(st.booleans()):
        value["id"] = draw(IDS)
    if not draw(st.integers(0, 9)):
        value[draw(st.text(max_size=5))] = draw(JSON)
    return value


BODIES = JSON | request_like() | st.lists(request_like() | JSON, max_size=6)


def check_answer(response: httpx.Response) -> None:
    assert response.status_code in (200, 204), response.text
    if response.status_code == 204:
        assert response.content == b""
        return
    problems = response_problems(response.json())
    assert not problems, (problems, response.text)


@pytest.mark.anyio
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=BODIES)
async def test_random_json_bodies(rpc_client: httpx.AsyncClient, body: Any) -> None:
    check_answer(await post(rpc_client, json.dumps(body).encode()))


@pytest.mark.anyio
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
async def test_random_bytes(rpc_client: httpx.AsyncClient, raw: bytes) -> None:
    check_answer(await post(rpc_client, raw))
