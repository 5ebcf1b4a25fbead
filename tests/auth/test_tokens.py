"""Attacks on the session token: every forged, stale or revoked token is UNAUTHORIZED."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from jose import jwt
from starlette.applications import Starlette

from procedures.auth.sessions import verify_token
from tests.auth.support import PASSWORD, SECRET, bearer, login, make_user, mint, services
from tests.support import error, result
from tvms.clock import ManualClock
from tvms.rpc import RpcError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.get_unverified_claims(token)
    return claims


async def _refused(client: httpx.AsyncClient, token: str) -> None:
    err = await error(client, "auth.me", headers=bearer(token))
    assert err["code"] == -32001, err
    assert err["message"] == "Invalid or expired token"
    # The same token is refused by every non-public procedure, also an ADMIN one.
    assert (await error(client, "users.getAll", headers=bearer(token)))["code"] == -32001


@pytest.fixture
async def viewer(app: Starlette, client: httpx.AsyncClient) -> tuple[str, str]:
    user_id = await make_user(app, "v@example.com", "VIEWER")
    return user_id, await login(client, "v@example.com")


async def test_the_genuine_token_works(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    assert (await result(client, "auth.me", headers=bearer(viewer[1])))["id"] == viewer[0]


async def test_alg_none(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    claims = _claims(viewer[1])
    for alg in ("none", "None", "NONE"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        payload = _b64(json.dumps({**claims, "role": "ADMIN"}).encode())
        await _refused(client, f"{header}.{payload}.")
        await _refused(client, f"{header}.{payload}")


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_other_hmac_algorithms_with_the_right_secret(
    client: httpx.AsyncClient, viewer: tuple[str, str], algorithm: str
) -> None:
    await _refused(client, jwt.encode(_claims(viewer[1]), SECRET, algorithm=algorithm))


async def test_wrong_secret(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    claims = _claims(viewer[1])
    for secret in ("wrong-secret-wrong-secret-wrong-secret!", SECRET + "x", SECRET[:-1], ""):
        await _refused(client, jwt.encode(claims, secret, algorithm="HS256"))


async def test_tampered_payload(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    header, _, signature = viewer[1].split(".")
    for change in ({"role": "ADMIN"}, {"ver": 1}, {"exp": 9_999_999_999}, {"id": "someone-else"}):
        payload = _b64(json.dumps({**_claims(viewer[1]), **change}).encode())
        await _refused(client, f"{header}.{payload}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    await _refused(client, f"{header}.{viewer[1].split('.')[1]}.{flipped}")


async def test_garbage_tokens(client: httpx.AsyncClient) -> None:
    for token in ("x", "a.b.c", "a.b", "....", "eyJ.eyJ.sig", "Bearer", "😀.😀.😀", "a" * 5000):
        response = await client.post(
            "/rpc",
            content=b'{"jsonrpc":"2.0","method":"auth.me","id":1}',
            headers={"content-type": "application/json", "authorization": b"Bearer " + token.encode()},  # type: ignore[dict-item]
        )
        assert response.status_code == 200
        assert response.json()["error"]["code"] == -32001, token


async def test_expired(client: httpx.AsyncClient, clock: ManualClock, viewer: tuple[str, str]) -> None:
    clock.advance(24 * 3600 - 5)
    assert await result(client, "auth.me", headers=bearer(viewer[1]))
    clock.advance(5)
    await _refused(client, viewer[1])


async def test_signed_but_expired_by_real_time(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str]
) -> None:
    await _refused(client, await mint(app, viewer[0], now_ms=1_000_000_000_000, lifetime_s=60))


async def test_issued_in_the_future(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str]
) -> None:
    now = services(app).clock.now_ms()
    await _refused(client, await mint(app, viewer[0], now_ms=now + 3_600_000))


async def test_missing_or_wrong_claims(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str]
) -> None:
    claims = _claims(viewer[1])
    for key in ("jti", "sub", "iat", "exp", "ver", "role", "id"):
        reduced = {k: v for k, v in claims.items() if k != key}
        await _refused(client, jwt.encode(reduced, SECRET, algorithm="HS256"))
    for change in (
        {"sub": "other"},
        {"ver": "0"},
        {"exp": str(claims["exp"])},
        {"role": "ROOT"},
        {"role": "ADMIN"},
    ):
        await _refused(client, jwt.encode({**claims, **change}, SECRET, algorithm="HS256"))


async def test_issued_before_a_password_change(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str]
) -> None:
    await result(client, "auth.me", headers=bearer(viewer[1]))  # cached as valid
    await result(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": "Other#Pass1"},
        headers=bearer(await login(client, "v@example.com")),
    )
    await _refused(client, viewer[1])


async def test_after_logout(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    await result(client, "auth.logout", headers=bearer(viewer[1]))
    await _refused(client, viewer[1])


async def test_deleted_user(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    await result(client, "auth.me", headers=bearer(viewer[1]))
    await result(client, "users.delete", {"id": viewer[0]}, headers=bearer(admin[1]))
    await _refused(client, viewer[1])


async def test_disabled_user(
    app: Starlette, client: httpx.AsyncClient, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    await result(client, "auth.me", headers=bearer(viewer[1]))
    await result(client, "users.update", {"id": viewer[0], "disabled": True}, headers=bearer(admin[1]))
    await _refused(client, viewer[1])
    await result(client, "users.update", {"id": viewer[0], "disabled": False}, headers=bearer(admin[1]))
    await _refused(client, viewer[1])  # re-enabling does not bring old tokens back
    assert await login(client, "v@example.com")


async def test_role_change_revokes(
    client: httpx.AsyncClient, viewer: tuple[str, str], admin: tuple[str, str]
) -> None:
    await result(client, "users.update", {"id": viewer[0], "role": "OPERATOR"}, headers=bearer(admin[1]))
    await _refused(client, viewer[1])
    token = await login(client, "v@example.com")
    assert (await result(client, "auth.me", headers=bearer(token)))["role"] == "OPERATOR"


async def test_a_revocation_reaches_another_process(
    app: Starlette,
    client: httpx.AsyncClient,
    viewer: tuple[str, str],
    second_app: tuple[Starlette, httpx.AsyncClient, ManualClock],
) -> None:
    """Process B caches the token as valid; A logs it out; B refuses it within the cache TTL."""
    _, other, other_clock = second_app
    assert await result(other, "auth.me", headers=bearer(viewer[1]))
    await result(client, "auth.logout", headers=bearer(viewer[1]))
    other_clock.advance(5.001)  # the documented staleness bound: services.cache TTL (5 s)
    err = await error(other, "auth.me", headers=bearer(viewer[1]))
    assert err["code"] == -32001


async def test_a_password_change_reaches_another_process(
    app: Starlette,
    client: httpx.AsyncClient,
    viewer: tuple[str, str],
    second_app: tuple[Starlette, httpx.AsyncClient, ManualClock],
) -> None:
    _, other, other_clock = second_app
    assert await result(other, "auth.me", headers=bearer(viewer[1]))
    await result(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": "Other#Pass1"},
        headers=bearer(viewer[1]),
    )
    other_clock.advance(5.001)
    assert (await error(other, "auth.me", headers=bearer(viewer[1])))["code"] == -32001


async def test_verify_token_directly(app: Starlette, viewer: tuple[str, str]) -> None:
    claims = await verify_token(services(app), viewer[1])
    assert claims.id == viewer[0] and claims.role == "VIEWER" and claims.ver == 0
    with pytest.raises(RpcError):
        await verify_token(services(app), viewer[1] + "x")


async def test_tokens_are_unique_per_login(client: httpx.AsyncClient, viewer: tuple[str, str]) -> None:
    again = await login(client, "v@example.com")
    assert _claims(again)["jti"] != _claims(viewer[1])["jti"]
    assert abs(int(_claims(again)["iat"]) - int(time.time())) > 0  # the service clock, not wall time
