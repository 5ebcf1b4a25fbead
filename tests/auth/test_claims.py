"""Token claims `iss`, `aud` and `nbf` are issued and checked, and `security.sessionTimeout`
bounds the age of every token, also of tokens issued before the setting was lowered."""

from __future__ import annotations

import httpx
import pytest
from jose import jwt
from starlette.applications import Starlette

from tests.auth.support import SECRET, bearer, login, make_user, mint
from tests.support import error, result
from tvms.clock import ManualClock


@pytest.fixture
async def viewer(app: Starlette, client: httpx.AsyncClient) -> tuple[str, str]:
    user_id = await make_user(app, "v@example.com", "VIEWER")
    return user_id, await login(client, "v@example.com")


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.get_unverified_claims(token)
    return claims


async def _refused(client: httpx.AsyncClient, token: str) -> None:
    err = await error(client, "auth.me", headers=bearer(token))
    assert err["code"] == -32001 and err["message"] == "Invalid or expired token", err


async def _set(client: httpx.AsyncClient, admin_token: str, key: str, value: object) -> None:
    await result(client, "settings.update", {"key": key, "value": value}, headers=bearer(admin_token))


async def test_issued_tokens_carry_iss_aud_nbf(viewer: tuple[str, str]) -> None:
    claims = _claims(viewer[1])
    assert claims["iss"] == "tvms"
    assert claims["aud"] == "tvms-api"
    assert claims["nbf"] == claims["iat"]


@pytest.mark.parametrize("claim", ["iss", "aud", "nbf"])
async def test_a_token_without_the_claim_is_refused(
    client: httpx.AsyncClient, viewer: tuple[str, str], claim: str
) -> None:
    """Signed with the real key, so only the missing claim can be the reason."""
    claims = {k: v for k, v in _claims(viewer[1]).items() if k != claim}
    await _refused(client, jwt.encode(claims, SECRET, algorithm="HS256"))


async def test_a_resigned_genuine_token_still_works(
    client: httpx.AsyncClient, viewer: tuple[str, str]
) -> None:
    """The control for the tests around it: re-signing the same claims is accepted."""
    token = jwt.encode(_claims(viewer[1]), SECRET, algorithm="HS256")
    assert (await result(client, "auth.me", headers=bearer(token)))["id"] == viewer[0]


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "someone-else"},
        {"iss": ""},
        {"iss": ["tvms"]},
        {"aud": "other-api"},
        {"aud": ""},
        {"aud": ["tvms-api", "other-api"]},
        {"aud": ["other-api"]},
        {"aud": 1},
        {"nbf": "0"},
        {"nbf": None},
    ],
)
async def test_wrong_issuer_audience_or_nbf(
    client: httpx.AsyncClient, viewer: tuple[str, str], change: dict[str, object]
) -> None:
    await _refused(client, jwt.encode({**_claims(viewer[1]), **change}, SECRET, algorithm="HS256"))


async def test_nbf_in_the_future(
    client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str]
) -> None:
    claims = _claims(viewer[1])
    later = int(str(claims["iat"])) + 3600
    token = jwt.encode({**claims, "nbf": later}, SECRET, algorithm="HS256")
    await _refused(client, token)
    clock.advance(3600 - 120)
    await _refused(client, token)
    clock.advance(120)
    assert await result(client, "auth.me", headers=bearer(token))  # valid from `nbf` on


async def test_nbf_at_or_after_exp(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    claims = _claims(viewer[1])
    await _refused(client, jwt.encode({**claims, "nbf": claims["exp"]}, SECRET, algorithm="HS256"))


async def test_lowering_the_timeout_ends_older_tokens(
    client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    clock.advance(2 * 3600)
    assert await result(client, "auth.me", headers=bearer(viewer[1]))  # 24 h token, 2 h old
    await _set(client, admin[1], "security.sessionTimeout", 1)
    await _refused(client, viewer[1])
    assert _claims(viewer[1])["exp"] > clock.now_ms() // 1000  # refused by its age, not by `exp`
    fresh = await login(client, "v@example.com")
    assert await result(client, "auth.me", headers=bearer(fresh))
    clock.advance(3600 - 1)
    assert await result(client, "auth.me", headers=bearer(fresh))
    clock.advance(1)
    await _refused(client, fresh)


async def test_raising_the_timeout_never_outlives_exp(
    client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    await _set(client, admin[1], "security.sessionTimeout", 720)
    clock.advance(24 * 3600)
    await _refused(client, viewer[1])


async def test_a_long_lived_signed_token_is_bounded_by_the_setting(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str]
) -> None:
    """A token claiming a 30-day life (as if issued under an old setting) lasts 24 h."""
    token = await mint(app, viewer[0], lifetime_s=30 * 86400)
    assert await result(client, "auth.me", headers=bearer(token))
    clock.advance(24 * 3600)
    await _refused(client, token)


async def test_the_timeout_reaches_another_process(
    client: httpx.AsyncClient,
    clock: ManualClock,
    viewer: tuple[str, str],
    admin: tuple[str, str],
    second_app: tuple[Starlette, httpx.AsyncClient, ManualClock],
) -> None:
    """Process B has the 24 h setting cached; A lowers it; B refuses within the cache TTL."""
    _, other, other_clock = second_app
    clock.advance(2 * 3600)
    other_clock.advance(2 * 3600)
    assert await result(other, "auth.me", headers=bearer(viewer[1]))
    await _set(client, admin[1], "security.sessionTimeout", 1)
    other_clock.advance(5.001)
    assert (await error(other, "auth.me", headers=bearer(viewer[1])))["code"] == -32001


async def test_refresh_cannot_stretch_past_the_timeout(
    client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    await _set(client, admin[1], "security.sessionTimeout", 1)
    clock.advance(3600)
    refused = await error(client, "auth.refreshToken", headers=bearer(viewer[1]))
    assert refused["code"] == -32001
