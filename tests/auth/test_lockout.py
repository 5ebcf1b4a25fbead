"""Brute force → lockout → unlock after the duration (injected clock), counted in the database."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette

from tests.auth.support import PASSWORD, bearer, login, make_user, services
from tests.support import call, error, result
from tvms.clock import ManualClock

WRONG = "Wrong#pass1"


async def _fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        err = await error(client, "auth.login", {"email": email, "password": WRONG})
        assert err["code"] == -32001


async def test_lockout_and_unlock(app: Starlette, client: httpx.AsyncClient, clock: ManualClock) -> None:
    await make_user(app, "bf@example.com")
    await _fail(client, "bf@example.com", 5)  # security.maxLoginAttempts = 5
    for password in (WRONG, PASSWORD):  # locked: even the right password is refused
        err = await error(client, "auth.login", {"email": "BF@example.com", "password": password})
        assert err["code"] == -32029
        assert err["data"]["code"] == "TOO_MANY_REQUESTS" and err["data"]["httpStatus"] == 429
        assert err["data"]["retryAfter"] == 30 * 60
        assert err["data"]["lockedUntil"] == "2023-11-14T22:43:20.000Z"
    clock.advance(29 * 60)
    err = await error(client, "auth.login", {"email": "bf@example.com", "password": PASSWORD})
    assert err["data"]["retryAfter"] == 60
    clock.advance(60)
    assert await login(client, "bf@example.com")


async def test_success_resets_the_count(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "reset@example.com")
    await _fail(client, "reset@example.com", 4)
    assert await login(client, "reset@example.com")
    await _fail(client, "reset@example.com", 4)
    assert await login(client, "reset@example.com")


async def test_a_new_series_after_an_expired_lock(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await make_user(app, "again@example.com")
    await _fail(client, "again@example.com", 5)
    clock.advance(30 * 60)
    await _fail(client, "again@example.com", 4)  # the count restarted: 4 failures do not lock
    assert await login(client, "again@example.com")


async def test_old_failures_expire(app: Starlette, client: httpx.AsyncClient, clock: ManualClock) -> None:
    await make_user(app, "slow@example.com")
    await _fail(client, "slow@example.com", 4)
    clock.advance(31 * 60)
    await _fail(client, "slow@example.com", 4)
    assert await login(client, "slow@example.com")


async def test_unknown_addresses_lock_the_same_way(client: httpx.AsyncClient) -> None:
    """A locked answer must not reveal whether the account exists."""
    await _fail(client, "ghost@example.com", 5)
    err = await error(client, "auth.login", {"email": "ghost@example.com", "password": WRONG})
    assert err["code"] == -32029 and err["data"]["retryAfter"] == 1800


async def test_the_settings_apply(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, admin: tuple[str, str]
) -> None:
    token = admin[1]
    await result(
        client, "settings.update", {"key": "security.maxLoginAttempts", "value": 2}, headers=bearer(token)
    )
    await result(
        client, "settings.update", {"key": "security.lockoutDuration", "value": 1}, headers=bearer(token)
    )
    await make_user(app, "two@example.com")
    await _fail(client, "two@example.com", 2)
    err = await error(client, "auth.login", {"email": "two@example.com", "password": PASSWORD})
    assert err["code"] == -32029 and err["data"]["retryAfter"] == 60
    clock.advance(60)
    assert await login(client, "two@example.com")


async def test_locking_one_address_leaves_others_alone(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "a1@example.com")
    await make_user(app, "a2@example.com")
    await _fail(client, "a1@example.com", 5)
    assert await login(client, "a2@example.com")


async def test_concurrent_guesses_never_exceed_the_limit(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "burst@example.com")
    bodies = await asyncio.gather(
        *(
            call(client, "auth.login", {"email": "burst@example.com", "password": f"Guess#{n}"})
            for n in range(30)
        )
    )
    codes = [body["error"]["code"] for body in bodies]
    assert set(codes) <= {-32001, -32029}
    assert codes.count(-32001) <= 5  # at most maxLoginAttempts passwords were actually checked
    err = await error(client, "auth.login", {"email": "burst@example.com", "password": PASSWORD})
    assert err["code"] == -32029


async def test_the_lock_holds_in_another_process(
    app: Starlette, client: httpx.AsyncClient, second_app: tuple[Starlette, httpx.AsyncClient, ManualClock]
) -> None:
    await make_user(app, "multi@example.com")
    _, other, _ = second_app
    await _fail(client, "multi@example.com", 3)
    await _fail(other, "multi@example.com", 2)
    err = await error(other, "auth.login", {"email": "multi@example.com", "password": PASSWORD})
    assert err["code"] == -32029
    assert (await error(client, "auth.login", {"email": "multi@example.com", "password": PASSWORD}))[
        "code"
    ] == -32029


async def test_admin_reset_lifts_the_lock(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    user_id = await make_user(app, "locked@example.com")
    await _fail(client, "locked@example.com", 5)
    await result(
        client, "users.resetPassword", {"id": user_id, "newPassword": "Fresh#Pass1"}, headers=bearer(admin[1])
    )
    assert await login(client, "locked@example.com", "Fresh#Pass1")


async def test_wrong_current_password_counts_towards_the_lock(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user(app, "cp@example.com")
    token = await login(client, "cp@example.com")
    for _ in range(5):
        err = await error(
            client,
            "auth.changePassword",
            {"currentPassword": WRONG, "newPassword": "Brand#New9"},
            headers=bearer(token),
        )
        assert err["code"] == -32003
    err = await error(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": "Brand#New9"},
        headers=bearer(token),
    )
    assert err["code"] == -32029
    assert (await error(client, "auth.login", {"email": "cp@example.com", "password": PASSWORD}))[
        "code"
    ] == -32029


async def test_counters_live_in_the_database(app: Starlette, client: httpx.AsyncClient) -> None:
    await _fail(client, "Row@Example.com", 2)
    row = await services(app).db.fetchrow(
        "SELECT failures, pending, locked_until FROM login_attempts WHERE email = :e",
        {"e": "row@example.com"},
    )
    assert row is not None and (row["failures"], row["pending"], row["locked_until"]) == (2, 0, None)
