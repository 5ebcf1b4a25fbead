"""`security.passwordExpiry`: an old password still proves who you are, but it buys no session
until it is changed (auth.changeExpiredPassword with the sign-in challenge)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import PASSWORD, bearer, login, make_user, services
from tests.support import call, error, result
from tvms.clock import ManualClock

DAY = 86400
NEW_PASSWORD = "Fresh#Pass42"


async def _age_password(app: Starlette, user_id: str, days: int) -> None:
    svc = services(app)
    await svc.db.execute(
        "UPDATE users SET password_changed_at = :at WHERE id = :id",
        {"at": svc.clock.now_ms() - days * DAY * 1000, "id": user_id},
    )


async def _expired_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    err = await error(client, "auth.login", {"email": email, "password": password})
    assert err["code"] == -32012, err
    data: dict[str, Any] = err["data"]
    assert data["code"] == "PRECONDITION_FAILED" and data["reason"] == "PASSWORD_EXPIRED"
    assert data["challenge"].startswith("tvmsc_") and data["challengeExpiresAt"].endswith("Z")
    assert "token" not in data
    return data


@pytest.fixture
async def old(app: Starlette) -> str:
    """A user whose password is 400 days old (the default expiry is 90 days)."""
    user_id = await make_user(app, "old@example.com", "OPERATOR")
    await _age_password(app, user_id, 400)
    return user_id


async def test_an_expired_password_gets_no_session(client: httpx.AsyncClient, old: str) -> None:
    data = await _expired_login(client, "old@example.com")
    # The challenge is no session: no procedure that needs a user accepts it.
    refused = await error(client, "auth.me", headers=bearer(data["challenge"]))
    assert refused["code"] == -32001


async def test_a_wrong_password_says_nothing_about_expiry(client: httpx.AsyncClient, old: str) -> None:
    err = await error(client, "auth.login", {"email": "old@example.com", "password": "Wrong#123"})
    assert err["code"] == -32001 and "reason" not in err["data"]


async def test_the_boundary_follows_the_setting(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, admin: tuple[str, str]
) -> None:
    user_id = await make_user(app, "b@example.com")
    await _age_password(app, user_id, 89)
    assert await login(client, "b@example.com")
    clock.advance(DAY)
    await _expired_login(client, "b@example.com")
    admin_token = await login(client, "root@example.com")  # the fixture's token timed out
    await result(
        client, "settings.update", {"key": "security.passwordExpiry", "value": 0}, headers=bearer(admin_token)
    )
    assert await login(client, "b@example.com")  # 0 = never
    await result(
        client,
        "settings.update",
        {"key": "security.passwordExpiry", "value": 365},
        headers=bearer(admin_token),
    )
    assert await login(client, "b@example.com")


async def test_changing_the_expired_password(app: Starlette, client: httpx.AsyncClient, old: str) -> None:
    data = await _expired_login(client, "old@example.com")
    session = await result(
        client, "auth.changeExpiredPassword", {"challenge": data["challenge"], "newPassword": NEW_PASSWORD}
    )
    assert session["user"]["id"] == old and session["user"]["role"] == "OPERATOR"
    assert (await result(client, "auth.me", headers=bearer(session["token"])))["id"] == old
    assert (await error(client, "auth.login", {"email": "old@example.com", "password": PASSWORD}))[
        "code"
    ] == -32001
    assert await login(client, "old@example.com", NEW_PASSWORD)
    # The challenge was used up.
    again = await error(
        client, "auth.changeExpiredPassword", {"challenge": data["challenge"], "newPassword": "Other#Pass42"}
    )
    assert again["code"] == -32001
    assert await login(client, "old@example.com", NEW_PASSWORD)


async def test_a_refused_new_password_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, old: str
) -> None:
    data = await _expired_login(client, "old@example.com")
    before = await services(app).db.fetchrow(
        "SELECT password_hash, token_version, password_changed_at FROM users WHERE id = :id", {"id": old}
    )
    for weak, message in (("short", "at least"), (PASSWORD, "differ"), ("a" * 73, "72 bytes")):
        err = await error(
            client, "auth.changeExpiredPassword", {"challenge": data["challenge"], "newPassword": weak}
        )
        assert err["code"] == -32602 and message in err["message"], err
    after = await services(app).db.fetchrow(
        "SELECT password_hash, token_version, password_changed_at FROM users WHERE id = :id", {"id": old}
    )
    assert dict(after or {}) == dict(before or {})
    # The challenge still works after refused attempts.
    assert await result(
        client, "auth.changeExpiredPassword", {"challenge": data["challenge"], "newPassword": NEW_PASSWORD}
    )


async def test_forged_expired_or_stale_challenges(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, old: str, admin: tuple[str, str]
) -> None:
    async def refused(challenge: str) -> None:
        err = await error(
            client, "auth.changeExpiredPassword", {"challenge": challenge, "newPassword": NEW_PASSWORD}
        )
        assert err["code"] == -32001, err

    data = await _expired_login(client, "old@example.com")
    for forged in ("x", data["challenge"] + "x", data["challenge"][:-1], "' OR 1=1 --", "tvmsc_" + "A" * 43):
        await refused(forged)
    as_challenge = await error(  # a session token is not a challenge (too long to even be one)
        client, "auth.changeExpiredPassword", {"challenge": admin[1], "newPassword": NEW_PASSWORD}
    )
    assert as_challenge["code"] == -32602
    clock.advance(5 * 60)
    await refused(data["challenge"])  # 5 minutes
    data = await _expired_login(client, "old@example.com")
    await result(
        client, "users.resetPassword", {"id": old, "newPassword": "Admin#Set99"}, headers=bearer(admin[1])
    )
    await refused(data["challenge"])  # the password was reset meanwhile: the challenge is stale
    assert await login(client, "old@example.com", "Admin#Set99")  # a reset password is new


async def test_wrong_types_missing_and_huge_fields(client: httpx.AsyncClient) -> None:
    for params in (
        {},
        {"challenge": "x"},
        {"newPassword": NEW_PASSWORD},
        {"challenge": 1, "newPassword": NEW_PASSWORD},
        {"challenge": "x" * 10_000, "newPassword": NEW_PASSWORD},
        {"challenge": "x", "newPassword": "y" * 10_000},
        {"challenge": "x", "newPassword": NEW_PASSWORD, "email": "old@example.com"},
    ):
        body = await call(client, "auth.changeExpiredPassword", params)
        assert body["error"]["code"] == -32602, params


async def test_a_refresh_cannot_outlive_the_password(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    user_id = await make_user(app, "r@example.com")
    token = await login(client, "r@example.com")
    await _age_password(app, user_id, 91)
    err = await error(client, "auth.refreshToken", headers=bearer(token))
    assert err["code"] == -32012 and err["data"]["reason"] == "PASSWORD_EXPIRED"
    assert "challenge" not in err["data"]
    assert await result(client, "auth.me", headers=bearer(token))  # the token itself was not revoked


async def test_changing_the_password_restarts_the_clock(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await make_user(app, "c@example.com")
    clock.advance(80 * DAY)
    token = await login(client, "c@example.com")
    await result(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(token),
    )
    clock.advance(80 * DAY)  # 160 days after the account was made, 80 after the change
    assert await login(client, "c@example.com", NEW_PASSWORD)


async def test_login_audit_names_the_step(app: Starlette, client: httpx.AsyncClient, old: str) -> None:
    await _expired_login(client, "old@example.com")
    row = await services(app).db.fetchrow(
        "SELECT outcome, detail, actor_id FROM audit_log WHERE procedure = 'auth.login'"
        " ORDER BY at DESC LIMIT 1"
    )
    assert row is not None and row["outcome"] == "PRECONDITION_FAILED" and row["actor_id"] == old
    assert "PASSWORD_EXPIRED" in row["detail"] and "tvmsc_" not in row["detail"]
