"""auth.login, auth.me, auth.refreshToken, auth.logout, auth.changePassword: the happy paths and
their failures."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from jose import jwt
from starlette.applications import Starlette

import tvms.security.passwords as passwords
from tests.auth.support import PASSWORD, SECRET, bearer, login, make_user, services
from tests.support import error, result
from tvms.clock import ManualClock


async def test_login_returns_token_and_user(app: Starlette, client: httpx.AsyncClient) -> None:
    user_id = await make_user(app, "ann@example.com", "OPERATOR", first_name="Ann", last_name="Lee")
    out = await result(client, "auth.login", {"email": "ann@example.com", "password": PASSWORD})
    assert out["user"] == {
        "id": user_id,
        "email": "ann@example.com",
        "firstName": "Ann",
        "lastName": "Lee",
        "role": "OPERATOR",
    }
    claims = jwt.decode(
        out["token"],
        SECRET,
        algorithms=["HS256"],
        audience="tvms-api",
        issuer="tvms",
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert set(claims) == {
        *("id", "email", "role", "firstName", "lastName", "exp"),
        *("sub", "iss", "aud", "iat", "nbf", "jti", "ver"),
    }
    assert claims["sub"] == claims["id"] == user_id
    assert claims["iss"] == "tvms" and claims["aud"] == "tvms-api"
    assert claims["nbf"] == claims["iat"]
    assert claims["role"] == "OPERATOR"
    assert claims["exp"] - claims["iat"] == 24 * 3600  # security.sessionTimeout default
    assert jwt.get_unverified_header(out["token"])["alg"] == "HS256"


async def test_session_lifetime_follows_the_setting(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    await result(
        client, "settings.update", {"key": "security.sessionTimeout", "value": 2}, headers=bearer(admin[1])
    )
    await make_user(app, "bo@example.com")
    token = await login(client, "bo@example.com")
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] == 2 * 3600


async def test_email_is_case_insensitive(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "case@example.com")
    out = await result(client, "auth.login", {"email": "CaSe@Example.COM", "password": PASSWORD})
    assert out["user"]["email"] == "case@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user(app, "known@example.com")
    wrong = await error(client, "auth.login", {"email": "known@example.com", "password": "Nope#1234"})
    unknown = await error(client, "auth.login", {"email": "nobody@example.com", "password": "Nope#1234"})
    assert wrong["code"] == unknown["code"] == -32001
    assert wrong["message"] == unknown["message"] == "Invalid email or password"
    assert {k: v for k, v in wrong["data"].items() if k != "requestId"} == {
        k: v for k, v in unknown["data"].items() if k != "requestId"
    }


async def test_unknown_email_still_verifies_a_hash(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The equal-time guarantee: an unknown address costs a bcrypt verification too."""
    checked: list[str] = []
    real = passwords._verify_sync

    def spy(password: str, hashed: str) -> bool:
        checked.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords, "_verify_sync", spy)
    await error(client, "auth.login", {"email": "ghost@example.com", "password": "Whatever#1"})
    assert len(checked) == 1 and checked[0].startswith("$2b$04$")


async def test_hashing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = passwords._hash_sync

    def spy(password: str, rounds: int) -> str:
        threads.append(threading.current_thread())
        return real(password, rounds)

    monkeypatch.setattr(passwords, "_hash_sync", spy)
    hashed = await passwords.Passwords(4).hash("Abcdef#12")
    assert threads and threads[0] is not threading.main_thread()
    assert await passwords.Passwords(4).verify("Abcdef#12", hashed)
    assert not await passwords.Passwords(4).verify("Abcdef#13", hashed)


async def test_disabled_user_cannot_log_in(app: Starlette, client: httpx.AsyncClient) -> None:
    user_id = await make_user(app, "off@example.com")
    await services(app).db.execute("UPDATE users SET disabled = TRUE WHERE id = :id", {"id": user_id})
    err = await error(client, "auth.login", {"email": "off@example.com", "password": PASSWORD})
    assert err["code"] == -32001 and err["message"] == "Invalid email or password"


@pytest.mark.parametrize(
    "params, path",
    [
        ({"email": "a@example.com"}, "$"),
        ({"password": "x"}, "$"),
        ({"email": "not-an-email", "password": "x"}, "$.email"),
        ({"email": 5, "password": "x"}, "$.email"),
        ({"email": "a@example.com", "password": ""}, "$.password"),
        ({"email": "a@example.com", "password": ["x"]}, "$.password"),
        ({"email": "a@example.com", "password": "x" * 100_000}, "$.password"),
        ({"email": "a@example.com", "password": "x", "role": "ADMIN"}, "$"),
        ({"email": "'or'1'='1'--@x.yz", "password": "x' OR '1'='1"}, None),
        ({"email": "' OR 1=1 --@x.y", "password": "x"}, "$.email"),
    ],
)
async def test_login_bad_input(
    client: httpx.AsyncClient, params: dict[str, object], path: str | None
) -> None:
    err = await error(client, "auth.login", params)
    if path is None:  # well-formed injection strings are just wrong credentials
        assert err["code"] == -32001
    else:
        assert err["code"] == -32602
        assert err["data"]["issues"][0]["path"].startswith(path)


async def test_password_over_72_bytes_is_a_validation_error(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user(app, "long@example.com")
    for password in ("a" * 73, "é" * 37, "🔐" * 19):  # 73, 74 and 76 UTF-8 bytes
        err = await error(client, "auth.login", {"email": "long@example.com", "password": password})
        assert err["code"] == -32602, password
        assert err["data"]["issues"] == [
            {"path": "$.password", "message": "Password must be at most 72 bytes in UTF-8"}
        ]
    with pytest.raises(ValueError):
        await passwords.Passwords(4).hash("a" * 73)
    assert not await passwords.Passwords(4).verify("a" * 73, await passwords.Passwords(4).hash("a" * 72))


async def test_non_ascii_passwords_work(app: Starlette, client: httpx.AsyncClient) -> None:
    for index, password in enumerate(("Пароль#2024", "é" * 36, "Ab1" + "🔐" * 17, "密码Aa1!")):
        email = f"u{index}@example.com"
        await make_user(app, email, password=password)
        assert await login(client, email, password)
        err = await error(client, "auth.login", {"email": email, "password": password[:-1] + "x"})
        assert err["code"] == -32001


async def test_nul_in_password_is_refused_cleanly(client: httpx.AsyncClient) -> None:
    err = await error(client, "auth.login", {"email": "a@example.com", "password": "ab\u0000cd"})
    assert err["code"] == -32602 and err["data"]["issues"][0]["path"] == "$.password"


async def test_me(app: Starlette, client: httpx.AsyncClient, clock: ManualClock) -> None:
    user_id = await make_user(app, "me@example.com", "VIEWER", first_name="Mia", last_name="Ek")
    token = await login(client, "me@example.com")
    out = await result(client, "auth.me", headers=bearer(token))
    assert out == {
        "id": user_id,
        "email": "me@example.com",
        "firstName": "Mia",
        "lastName": "Ek",
        "role": "VIEWER",
        "createdAt": "2023-11-14T22:13:20.000Z",
        "updatedAt": "2023-11-14T22:13:20.000Z",
    }
    assert "passwordHash" not in out
    assert (await error(client, "auth.me"))["code"] == -32001
    assert (await error(client, "auth.me", headers={"authorization": "Bearer nonsense"}))["code"] == -32001
    assert (await error(client, "auth.me", headers={"authorization": "Bearer " + "a" * 10_000}))[
        "code"
    ] == -32001


async def test_refresh_rotates_the_token(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await make_user(app, "re@example.com")
    old = await login(client, "re@example.com")
    clock.advance(60)
    out = await result(client, "auth.refreshToken", headers=bearer(old))
    assert out["expiresAt"] == "2023-11-15T22:14:20.000Z"
    assert (await result(client, "auth.me", headers=bearer(out["token"])))["email"] == "re@example.com"
    assert (await error(client, "auth.me", headers=bearer(old)))["code"] == -32001
    assert (await error(client, "auth.refreshToken"))["code"] == -32001


async def test_logout_revokes_only_the_presented_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "out@example.com")
    first = await login(client, "out@example.com")
    second = await login(client, "out@example.com")
    await result(client, "auth.me", headers=bearer(first))  # cached as valid: logout must drop that
    assert await result(client, "auth.logout", headers=bearer(first)) == {"success": True}
    assert (await error(client, "auth.me", headers=bearer(first)))["code"] == -32001
    assert (await result(client, "auth.me", headers=bearer(second)))["email"] == "out@example.com"
    # Logging out again, without a token or with garbage is harmless.
    assert await result(client, "auth.logout", headers=bearer(first)) == {"success": True}
    assert await result(client, "auth.logout") == {"success": True}
    assert await result(client, "auth.logout", {}, headers={"authorization": "Bearer x.y.z"}) == {
        "success": True
    }


async def test_logout_everywhere(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "all@example.com")
    first = await login(client, "all@example.com")
    second = await login(client, "all@example.com")
    await result(client, "auth.logout", {"everywhere": True}, headers=bearer(first))
    for token in (first, second):
        assert (await error(client, "auth.me", headers=bearer(token)))["code"] == -32001
    assert await login(client, "all@example.com")


async def test_change_password(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "pw@example.com")
    token = await login(client, "pw@example.com")
    other = await login(client, "pw@example.com")
    out = await result(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": "Brand#New9"},
        headers=bearer(token),
    )
    assert (await result(client, "auth.me", headers=bearer(out["token"])))["email"] == "pw@example.com"
    for old in (token, other):
        assert (await error(client, "auth.me", headers=bearer(old)))["code"] == -32001
    assert (await error(client, "auth.login", {"email": "pw@example.com", "password": PASSWORD}))[
        "code"
    ] == -32001
    assert await login(client, "pw@example.com", "Brand#New9")


@pytest.mark.parametrize(
    "new, message",
    [
        ("short1A", "Password must be at least 8 characters long"),
        ("alllower1", "Password must contain an upper-case letter"),
        ("NoDigitsHere", "Password must contain a digit"),
        ("A1" + "é" * 36, "Password must be at most 72 bytes in UTF-8"),
        ("        ", "Password must not be blank"),
    ],
)
async def test_change_password_policy(
    app: Starlette, client: httpx.AsyncClient, new: str, message: str
) -> None:
    await make_user(app, "pol@example.com")
    token = await login(client, "pol@example.com")
    err = await error(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": new},
        headers=bearer(token),
    )
    assert err["code"] == -32602
    assert err["data"]["issues"] == [{"path": "$.newPassword", "message": message}]
    assert await result(client, "auth.me", headers=bearer(token))  # nothing changed


async def test_change_password_needs_the_current_one(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "cur@example.com")
    token = await login(client, "cur@example.com")
    err = await error(
        client,
        "auth.changePassword",
        {"currentPassword": "Wrong#123", "newPassword": "Brand#New9"},
        headers=bearer(token),
    )
    assert err["code"] == -32003
    same = await error(
        client,
        "auth.changePassword",
        {"currentPassword": PASSWORD, "newPassword": PASSWORD},
        headers=bearer(token),
    )
    assert same["code"] == -32602
    assert await login(client, "cur@example.com")  # old password still works


async def test_concurrent_logins_of_different_users_all_succeed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    for index in range(8):
        await make_user(app, f"many{index}@example.com")
    tokens = await asyncio.gather(*(login(client, f"many{index}@example.com") for index in range(8)))
    assert len(set(tokens)) == 8
