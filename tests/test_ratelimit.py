"""The per-client limit on anonymous and failed calls, within one process and across two."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from tests.support import as_role, asgi_client, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config, ConfigError, load_config

LIMIT = 50
LICENSE = "system.getLicense"


@pytest.fixture
def config(config: Config) -> Config:
    return dataclasses.replace(config, rate_limit=LIMIT, rate_limit_window_s=60)


async def _batch(
    client: httpx.AsyncClient, method: str, count: int, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    body = [{"jsonrpc": "2.0", "method": method, "id": i} for i in range(count)]
    response = await client.post(
        "/rpc",
        content=msgspec.json.encode(body),
        headers={"content-type": "application/json", **(headers or {})},
    )
    answers: list[dict[str, Any]] = response.json()
    return answers


def _codes(answers: list[dict[str, Any]]) -> list[str]:
    return ["OK" if "result" in a else a["error"]["data"]["code"] for a in answers]


async def _hits(app: Starlette) -> int:
    return int(await app.state.services.db.fetchval("SELECT COALESCE(SUM(hits), 0) FROM rate_limit_hits"))


async def test_anonymous_calls_over_the_limit_are_refused_with_a_retry_time(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    codes = _codes(await _batch(client, LICENSE, 60))
    assert codes[:LIMIT] == ["OK"] * LIMIT
    assert codes[LIMIT:] == ["TOO_MANY_REQUESTS"] * (60 - LIMIT)
    refused = (await _batch(client, LICENSE, 1))[0]["error"]
    assert refused["code"] == -32029
    assert refused["data"]["httpStatus"] == 429 and 1 <= refused["data"]["retryAfter"] <= 60
    # signed-in callers from the same address are not anonymous: they are served
    assert _codes(await _batch(client, LICENSE, 5, as_role("VIEWER"))) == ["OK"] * 5
    # a token that does not verify does not get around the refusal
    bad = await _batch(client, LICENSE, 1, {"authorization": "Bearer forged"})
    assert _codes(bad) == ["TOO_MANY_REQUESTS"]
    clock.advance(refused["data"]["retryAfter"])
    assert _codes(await _batch(client, LICENSE, 1)) == ["OK"]


async def test_failed_calls_of_a_signed_in_user_count_against_that_user(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    viewer = as_role("VIEWER", "viewer-9")
    codes = _codes(await _batch(client, "users.getAll", 60, viewer))
    assert codes[:LIMIT] == ["FORBIDDEN"] * LIMIT and codes[LIMIT:] == ["TOO_MANY_REQUESTS"] * 10
    assert _codes(await _batch(client, "auth.me", 1, viewer)) == ["TOO_MANY_REQUESTS"]
    # another user, and anonymous callers, from the same address are unaffected
    assert _codes(await _batch(client, "users.getAll", 1, as_role("ADMIN"))) == ["OK"]
    assert _codes(await _batch(client, LICENSE, 1)) == ["OK"]


async def test_successful_signed_in_calls_cost_no_database_write(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for _ in range(3):
        assert _codes(await _batch(client, LICENSE, 100, as_role("OPERATOR"))) == ["OK"] * 100
    assert await _hits(app) == 0
    # anonymous calls are counted in memory and shared a second later (or every tenth of the limit)
    assert _codes(await _batch(client, LICENSE, 2)) == ["OK"] * 2
    assert await _hits(app) == 0
    clock.advance(1)
    assert _codes(await _batch(client, LICENSE, 1)) == ["OK"]
    assert await _hits(app) == 3


@pytest.fixture
async def other_process(config: Config, test_api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, as a second API process would be."""
    async with running_app(config, test_api, ManualClock()) as application, asgi_client(application) as http:
        yield http


async def test_the_limit_holds_across_processes(
    app: Starlette, client: httpx.AsyncClient, other_process: httpx.AsyncClient
) -> None:
    first = _codes(await _batch(client, LICENSE, 30))
    second = _codes(await _batch(other_process, LICENSE, 30))
    assert first == ["OK"] * 30
    assert "TOO_MANY_REQUESTS" in second  # the second process learned of the first one's 30
    assert second.count("OK") <= LIMIT - 30 + LIMIT // 10
    # the first process learns at its next shared write: within a tenth of the limit
    later = _codes(await _batch(client, LICENSE, LIMIT // 10 + 1))
    assert later[-1] == "TOO_MANY_REQUESTS"
    assert await _hits(app) <= 2 * LIMIT


def test_configured_from_the_environment() -> None:
    assert load_config({}).rate_limit == 1000
    configured = load_config({"TVMS_RATE_LIMIT": "0", "TVMS_RATE_LIMIT_WINDOW": "10"})
    assert (configured.rate_limit, configured.rate_limit_window_s) == (0, 10)
    for bad in ({"TVMS_RATE_LIMIT": "-1"}, {"TVMS_RATE_LIMIT": "many"}, {"TVMS_RATE_LIMIT_WINDOW": "0"}):
        with pytest.raises(ConfigError):
            load_config(bad)


async def test_zero_turns_the_limit_off(config: Config, test_api: Api) -> None:
    off = dataclasses.replace(config, rate_limit=0)
    async with running_app(off, test_api, ManualClock()) as application, asgi_client(application) as client:
        assert _codes(await _batch(client, LICENSE, 100)) == ["OK"] * 100
        assert await _hits(application) == 0
