"""Multi-factor sign-in (TOTP, RFC 6238): enrolment, the second step of a login, recovery codes,
the lockout on wrong codes, replays, an ADMIN reset and `security.mfaEnabled`, attacked."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import (
    PASSWORD,
    STEP,
    Mfa,
    bearer,
    challenge_of,
    code_of,
    login,
    make_mfa_user,
    make_user,
    now_code,
    services,
    verify,
)
from tests.support import call, error, result
from tvms.clock import ManualClock


@pytest.fixture
async def alice(app: Starlette, client: httpx.AsyncClient, clock: ManualClock) -> Mfa:
    return await make_mfa_user(app, client, clock, "alice@example.com")


async def _set(client: httpx.AsyncClient, admin_token: str, key: str, value: object) -> None:
    await result(client, "settings.update", {"key": key, "value": value}, headers=bearer(admin_token))


# ----- enrolment ----------------------------------------------------------------------------


async def test_enrolment_gives_a_qr_ready_uri_and_keeps_the_secret_sealed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user_id = await make_user(app, "m@example.com")
    token = await login(client, "m@example.com")
    out = await result(client, "auth.mfa.enrol", headers=bearer(token))
    uri = urlsplit(out["otpauthUri"])
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/TVMS:m@example.com"
    assert query["secret"] == [out["secret"]] and query["issuer"] == ["TVMS"]
    assert len(out["secret"]) == 32 and (out["digits"], out["period"]) == (6, 30)
    status = await result(client, "auth.mfa.getStatus", headers=bearer(token))
    assert status == {"enabled": False, "pending": True, "required": False, "recoveryCodesLeft": 0}
    stored = await services(app).db.fetchval(
        "SELECT secret FROM user_mfa WHERE user_id = :id", {"id": user_id}
    )
    assert out["secret"] not in str(stored)
    # Not enabled yet: a sign-in needs no code.
    assert await login(client, "m@example.com")


async def test_confirmation_needs_the_right_code(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    user_id = await make_user(app, "m@example.com")
    token = await login(client, "m@example.com")
    secret = (await result(client, "auth.mfa.enrol", headers=bearer(token)))["secret"]
    for wrong in ("000000", now_code(clock, secret, 3), "ABCD-EFGH-JKLM-NPQR"):
        if wrong == now_code(clock, secret):
            continue
        err = await error(client, "auth.mfa.confirm", {"code": wrong}, headers=bearer(token))
        assert err["code"] == -32003, err
    assert not (await result(client, "auth.mfa.getStatus", headers=bearer(token)))["enabled"]
    out = await result(client, "auth.mfa.confirm", {"code": now_code(clock, secret)}, headers=bearer(token))
    codes = out["recoveryCodes"]
    assert len(codes) == 10 == len(set(codes))
    assert all(len(code) == 19 and code.count("-") == 3 for code in codes)
    status = await result(client, "auth.mfa.getStatus", headers=bearer(token))
    assert status["enabled"] and not status["pending"] and status["recoveryCodesLeft"] == 10
    stored = await services(app).db.fetch(
        "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = :id", {"id": user_id}
    )
    hashes = " ".join(row["code_hash"] for row in stored)
    assert len(stored) == 10 and not any(code.replace("-", "") in hashes.upper() for code in codes)


async def test_the_secret_is_never_shown_again(
    app: Starlette, client: httpx.AsyncClient, alice: Mfa, admin: tuple[str, str]
) -> None:
    err = await error(client, "auth.mfa.enrol", headers=bearer(alice.token))
    assert err["code"] == -32009 and alice.secret not in str(err)
    status = await result(client, "auth.mfa.getStatus", headers=bearer(alice.token))
    assert alice.secret not in str(status)
    user = await result(client, "users.getById", {"id": alice.user_id}, headers=bearer(admin[1]))
    assert alice.secret not in str(user)
    for procedure in ("settings.getAll", "audit.getAll"):
        assert alice.secret not in str(await call(client, procedure, headers=bearer(admin[1])))


async def test_confirm_without_enrolment(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "m@example.com")
    token = await login(client, "m@example.com")
    err = await error(client, "auth.mfa.confirm", {"code": "123456"}, headers=bearer(token))
    assert err["code"] == -32012


# ----- signing in ---------------------------------------------------------------------------


async def test_sign_in_takes_a_second_step(client: httpx.AsyncClient, clock: ManualClock, alice: Mfa) -> None:
    challenge = await challenge_of(client, alice.email)
    # The challenge is no session.
    assert (await error(client, "auth.me", headers=bearer(challenge)))["code"] == -32001
    body = await verify(client, challenge, now_code(clock, alice.secret))
    session = body["result"]
    assert session["user"]["id"] == alice.user_id
    assert (await result(client, "auth.me", headers=bearer(session["token"])))["id"] == alice.user_id
    clock.advance(STEP)
    # A challenge completes one sign-in only.
    assert code_of(await verify(client, challenge, now_code(clock, alice.secret))) == -32001


async def test_a_code_works_once(client: httpx.AsyncClient, clock: ManualClock, alice: Mfa) -> None:
    code = now_code(clock, alice.secret)
    assert "result" in await verify(client, await challenge_of(client, alice.email), code)
    replay = await verify(client, await challenge_of(client, alice.email), code)
    assert code_of(replay) == -32001
    older = now_code(clock, alice.secret, -1)
    assert code_of(await verify(client, await challenge_of(client, alice.email), older)) == -32001
    clock.advance(STEP)
    assert "result" in await verify(
        client, await challenge_of(client, alice.email), now_code(clock, alice.secret)
    )


async def test_the_window_is_one_step_either_side(
    client: httpx.AsyncClient, clock: ManualClock, alice: Mfa, admin: tuple[str, str]
) -> None:
    await _set(client, admin[1], "security.maxLoginAttempts", 100)
    for far in (-3, -2, 2, 3):
        body = await verify(
            client, await challenge_of(client, alice.email), now_code(clock, alice.secret, far)
        )
        assert code_of(body) == -32001, far
    body = await verify(client, await challenge_of(client, alice.email), now_code(clock, alice.secret, 1))
    assert "result" in body  # a phone running one step ahead
    body = await verify(client, await challenge_of(client, alice.email), now_code(clock, alice.secret, 0))
    assert code_of(body) == -32001  # older than the step just accepted


async def _mfa_counts(client: httpx.AsyncClient) -> tuple[float, float]:
    """This process's (failures, lockouts) of second factors, from `/metrics`."""
    lines = (await client.get("/metrics")).text.splitlines()

    def value(name: str) -> float:
        prefix = name + '{factor="mfa"} '
        return float(next(line for line in lines if line.startswith(prefix)).removeprefix(prefix))

    return value("tvms_login_failures_total"), value("tvms_login_lockouts_total")


async def test_wrong_codes_lock_the_factor_in_every_process(
    client: httpx.AsyncClient,
    clock: ManualClock,
    alice: Mfa,
    second_app: tuple[Starlette, httpx.AsyncClient, ManualClock],
) -> None:
    _, other, other_clock = second_app
    other_clock.advance((clock.now_ms() - other_clock.now_ms()) / 1000)
    right = now_code(clock, alice.secret)
    wrong = "000000" if right != "000000" else "111111"
    challenge = await challenge_of(client, alice.email)
    for _ in range(4):
        assert code_of(await verify(client, challenge, wrong)) == -32001
    assert await _mfa_counts(client) == (4, 0)
    locked = await verify(client, challenge, wrong)  # the 5th: security.maxLoginAttempts
    assert code_of(locked) == -32029 and locked["error"]["data"]["retryAfter"] == 30 * 60
    assert await _mfa_counts(client) == (5, 1)  # tvms_login_failures/lockouts_total{factor="mfa"}
    body = await verify(client, await challenge_of(client, alice.email), right)
    assert code_of(body) == -32029  # even the right code, while locked
    assert await _mfa_counts(client) == (5, 1)  # refused unchecked: counted in neither
    body = await verify(other, await challenge_of(other, alice.email), right)
    assert code_of(body) == -32029  # another process sees the same lock
    clock.advance(30 * 60)
    body = await verify(client, await challenge_of(client, alice.email), now_code(clock, alice.secret))
    assert "result" in body


async def test_concurrent_guesses_are_all_counted(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    challenges = [await challenge_of(client, alice.email) for _ in range(4)]
    guesses = [
        f"{n:06d}"
        for n in range(20)
        if f"{n:06d}" not in {now_code(clock, alice.secret, s) for s in (-1, 0, 1)}
    ]
    bodies = await asyncio.gather(
        *(verify(client, challenges[i % 4], guess) for i, guess in enumerate(guesses[:16]))
    )
    codes = [code_of(body) for body in bodies]
    assert codes.count(-32001) == 4 and codes.count(-32029) == 12, codes
    body = await verify(client, await challenge_of(client, alice.email), now_code(clock, alice.secret))
    assert code_of(body) == -32029
    failures = await services(app).db.fetchval(
        "SELECT failures FROM user_mfa WHERE user_id = :id", {"id": alice.user_id}
    )
    assert int(failures) == 5


async def test_a_challenge_dies_after_five_wrong_codes(
    client: httpx.AsyncClient, clock: ManualClock, alice: Mfa, admin: tuple[str, str]
) -> None:
    await _set(client, admin[1], "security.maxLoginAttempts", 100)
    challenge = await challenge_of(client, alice.email)
    right = now_code(clock, alice.secret)
    for _ in range(5):
        assert code_of(await verify(client, challenge, "999999" if right != "999999" else "888888")) == -32001
    assert code_of(await verify(client, challenge, right)) == -32001
    assert "result" in await verify(client, await challenge_of(client, alice.email), right)


async def test_a_challenge_expires(client: httpx.AsyncClient, clock: ManualClock, alice: Mfa) -> None:
    challenge = await challenge_of(client, alice.email)
    clock.advance(5 * 60)
    assert code_of(await verify(client, challenge, now_code(clock, alice.secret))) == -32001


async def test_recovery_codes_work_once(client: httpx.AsyncClient, clock: ManualClock, alice: Mfa) -> None:
    first = alice.codes[0]
    typed = first.replace("-", " ").lower()  # as a person might type it
    body = await verify(client, await challenge_of(client, alice.email), typed)
    assert body["result"]["user"]["id"] == alice.user_id
    again = await verify(client, await challenge_of(client, alice.email), first)
    assert code_of(again) == -32001
    status = await result(client, "auth.mfa.getStatus", headers=bearer(body["result"]["token"]))
    assert status["recoveryCodesLeft"] == 9
    # New codes replace the old ones at once.
    fresh = await result(
        client,
        "auth.mfa.regenerateRecoveryCodes",
        {"code": now_code(clock, alice.secret)},
        headers=bearer(body["result"]["token"]),
    )
    assert set(fresh["recoveryCodes"]).isdisjoint(alice.codes)
    old = await verify(client, await challenge_of(client, alice.email), alice.codes[1])
    assert code_of(old) == -32001
    assert "result" in await verify(
        client, await challenge_of(client, alice.email), fresh["recoveryCodes"][0]
    )


async def test_another_users_code_or_challenge(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    bob = await make_mfa_user(app, client, clock, "bob@example.com", "ADMIN")
    alices = await challenge_of(client, alice.email)
    for code in (now_code(clock, bob.secret), bob.codes[0]):
        if code == now_code(clock, alice.secret):
            continue
        assert code_of(await verify(client, alices, code)) == -32001
    # Bob's recovery code was not used up by the attempt on Alice's challenge.
    body = await verify(client, await challenge_of(client, bob.email), bob.codes[0])
    assert body["result"]["user"]["id"] == bob.user_id
    # Alice's challenge, whatever code comes with it, only ever signs Alice in.
    body = await verify(client, alices, now_code(clock, alice.secret))
    assert body["result"]["user"]["id"] == alice.user_id and body["result"]["user"]["role"] == "VIEWER"


async def test_tokens_and_other_steps_are_not_challenges(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    for fake in ("x" * 6, "tvmsc_" + "A" * 43, "' OR '1'='1", alice.token[:100]):
        assert code_of(await verify(client, fake, now_code(clock, alice.secret))) == -32001
    await services(app).db.execute(
        "UPDATE users SET password_changed_at = 0 WHERE id = :id", {"id": alice.user_id}
    )
    mfa_step = await challenge_of(client, alice.email)
    body = await verify(client, mfa_step, now_code(clock, alice.secret))
    assert body["error"]["data"]["reason"] == "PASSWORD_EXPIRED"  # the next step, after MFA
    password_step = body["error"]["data"]["challenge"]
    clock.advance(STEP)
    assert code_of(await verify(client, password_step, now_code(clock, alice.secret))) == -32001
    refused = await error(client, "auth.enrolMfa", {"challenge": password_step})
    assert refused["code"] == -32001
    session = await result(
        client, "auth.changeExpiredPassword", {"challenge": password_step, "newPassword": "Fresh#Pass42"}
    )
    assert session["user"]["id"] == alice.user_id


async def test_wrong_types_missing_and_hostile_fields(client: httpx.AsyncClient, alice: Mfa) -> None:
    challenge = await challenge_of(client, alice.email)
    for params in (
        {},
        {"challenge": challenge},
        {"code": "123456"},
        {"challenge": challenge, "code": 123456},
        {"challenge": challenge, "code": "12345"},
        {"challenge": challenge, "code": "1" * 33},
        {"challenge": challenge, "code": "'; DROP TABLE users; --"},
        {"challenge": challenge, "code": "12345\u0000"},
        {"challenge": challenge, "code": "123456\n"},
        {"challenge": "x" * 100_000, "code": "123456"},
        {"challenge": challenge, "code": "123456", "userId": "someone"},
        [challenge, "123456"],
    ):
        assert code_of(await call(client, "auth.verifyMfa", params)) == -32602, params
    for params in ({}, {"code": 1}, {"code": "12"}, {"code": "123456", "secret": "X"}):
        body = await call(client, "auth.mfa.confirm", params, headers=bearer(alice.token))
        assert code_of(body) == -32602, params


async def test_without_a_session(client: httpx.AsyncClient) -> None:
    for procedure, params in (
        ("auth.mfa.enrol", None),
        ("auth.mfa.confirm", {"code": "123456"}),
        ("auth.mfa.getStatus", None),
        ("auth.mfa.disable", {"currentPassword": PASSWORD, "code": "123456"}),
        ("auth.mfa.regenerateRecoveryCodes", {"code": "123456"}),
        ("users.resetMfa", {"id": "x"}),
    ):
        assert code_of(await call(client, procedure, params)) == -32001, procedure


# ----- disabling and resetting --------------------------------------------------------------


async def test_disable_needs_password_and_code(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    right = now_code(clock, alice.secret)
    wrong_password = {"currentPassword": "Wrong#123", "code": right}
    assert (await error(client, "auth.mfa.disable", wrong_password, headers=bearer(alice.token)))[
        "code"
    ] == -32003
    wrong_code = {"currentPassword": PASSWORD, "code": "000000" if right != "000000" else "111111"}
    assert (await error(client, "auth.mfa.disable", wrong_code, headers=bearer(alice.token)))[
        "code"
    ] == -32003
    assert (await result(client, "auth.mfa.getStatus", headers=bearer(alice.token)))["enabled"]
    out = await result(
        client, "auth.mfa.disable", {"currentPassword": PASSWORD, "code": right}, headers=bearer(alice.token)
    )
    assert out == {"success": True}
    assert await login(client, alice.email)  # no second step any more
    left = await services(app).db.fetchval(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = :id", {"id": alice.user_id}
    )
    assert int(left) == 0


async def test_admin_reset(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa, admin: tuple[str, str]
) -> None:
    pending = await challenge_of(client, alice.email)
    viewer_id = await make_user(app, "viewer@example.com", "VIEWER")
    viewer = await login(client, "viewer@example.com")
    assert (await error(client, "users.resetMfa", {"id": alice.user_id}, headers=bearer(viewer)))[
        "code"
    ] == -32003
    assert (await error(client, "users.resetMfa", {"id": admin[0]}, headers=bearer(admin[1])))[
        "code"
    ] == -32003
    assert (await error(client, "users.resetMfa", {"id": "nobody"}, headers=bearer(admin[1])))[
        "code"
    ] == -32004
    for params in ({}, {"id": 1}, {"id": ""}, {"id": "x" * 1000}):
        assert code_of(await call(client, "users.resetMfa", params, headers=bearer(admin[1]))) == -32602
    out = await result(client, "users.resetMfa", {"id": alice.user_id}, headers=bearer(admin[1]))
    assert out == {"id": alice.user_id, "reset": True}
    # Her sessions and the sign-in in progress end; the password alone signs her in now.
    assert (await error(client, "auth.me", headers=bearer(alice.token)))["code"] == -32001
    assert code_of(await verify(client, pending, now_code(clock, alice.secret))) == -32001
    assert await login(client, alice.email)
    again = await result(client, "users.resetMfa", {"id": viewer_id}, headers=bearer(admin[1]))
    assert again == {"id": viewer_id, "reset": False}
    for table in ("user_mfa", "mfa_recovery_codes"):
        count = await services(app).db.fetchval(
            f"SELECT COUNT(*) FROM {table} WHERE user_id = :id", {"id": alice.user_id}
        )
        assert int(count) == 0, table


async def test_deleting_a_user_removes_the_factor(
    app: Starlette, client: httpx.AsyncClient, alice: Mfa, admin: tuple[str, str]
) -> None:
    pending = await challenge_of(client, alice.email)
    await result(client, "users.delete", {"id": alice.user_id}, headers=bearer(admin[1]))
    for table in ("user_mfa", "mfa_recovery_codes", "signin_challenges"):
        count = await services(app).db.fetchval(
            f"SELECT COUNT(*) FROM {table} WHERE user_id = :id", {"id": alice.user_id}
        )
        assert int(count) == 0, table
    assert code_of(await verify(client, pending, alice.codes[0])) == -32001


async def test_a_sealed_secret_only_opens_for_its_user(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    """Copying Alice's stored secret into Bob's row does not let Alice's codes sign Bob in."""
    bob = await make_mfa_user(app, client, clock, "bob@example.com")
    db = services(app).db
    sealed = await db.fetchval("SELECT secret FROM user_mfa WHERE user_id = :id", {"id": alice.user_id})
    await db.execute("UPDATE user_mfa SET secret = :s WHERE user_id = :id", {"s": sealed, "id": bob.user_id})
    body = await verify(client, await challenge_of(client, bob.email), now_code(clock, alice.secret))
    assert code_of(body) == -32001


# ----- the policy: security.mfaEnabled ------------------------------------------------------


async def test_the_policy_makes_users_enrol_at_sign_in(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, admin: tuple[str, str]
) -> None:
    await make_user(app, "new@example.com", "OPERATOR")
    token = await login(client, "new@example.com")  # a session from before the policy
    await _set(client, admin[1], "security.mfaEnabled", True)
    challenge = await challenge_of(client, "new@example.com", "MFA_ENROLMENT_REQUIRED")
    refused = await error(client, "auth.refreshToken", headers=bearer(token))
    assert refused["code"] == -32012 and refused["data"]["reason"] == "MFA_ENROLMENT_REQUIRED"
    assert code_of(await verify(client, challenge, "123456")) == -32001  # not an MFA_REQUIRED challenge
    enrolment = await result(client, "auth.enrolMfa", {"challenge": challenge})
    assert enrolment["otpauthUri"].startswith("otpauth://totp/")
    secret = enrolment["secret"]
    right = now_code(clock, secret)
    bad = await error(
        client,
        "auth.confirmMfaEnrolment",
        {"challenge": challenge, "code": "000000" if right != "000000" else "111111"},
    )
    assert bad["code"] == -32003
    done = await result(client, "auth.confirmMfaEnrolment", {"challenge": challenge, "code": right})
    assert len(done["recoveryCodes"]) == 10 and done["user"]["email"] == "new@example.com"
    assert await result(client, "auth.me", headers=bearer(done["token"]))
    reuse = await error(client, "auth.confirmMfaEnrolment", {"challenge": challenge, "code": right})
    assert reuse["code"] == -32001
    # From now on the second factor is asked for, and it cannot be switched off.
    clock.advance(STEP)
    second = await challenge_of(client, "new@example.com")
    assert "result" in await verify(client, second, now_code(clock, secret))
    off = await error(
        client,
        "auth.mfa.disable",
        {"currentPassword": PASSWORD, "code": done["recoveryCodes"][0]},
        headers=bearer(done["token"]),
    )
    assert off["code"] == -32012
    status = await result(client, "auth.mfa.getStatus", headers=bearer(done["token"]))
    assert status["required"] and status["enabled"] and status["recoveryCodesLeft"] == 10


async def test_expired_password_then_enrolment(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, admin: tuple[str, str]
) -> None:
    user_id = await make_user(app, "late@example.com")
    await services(app).db.execute("UPDATE users SET password_changed_at = 0 WHERE id = :id", {"id": user_id})
    await _set(client, admin[1], "security.mfaEnabled", True)
    challenge = await challenge_of(client, "late@example.com", "PASSWORD_EXPIRED")
    step = await error(
        client, "auth.changeExpiredPassword", {"challenge": challenge, "newPassword": "Fresh#Pass42"}
    )
    assert step["code"] == -32012 and step["data"]["reason"] == "MFA_ENROLMENT_REQUIRED"
    enrol = step["data"]["challenge"]
    secret = (await result(client, "auth.enrolMfa", {"challenge": enrol}))["secret"]
    done = await result(
        client, "auth.confirmMfaEnrolment", {"challenge": enrol, "code": now_code(clock, secret)}
    )
    assert done["user"]["id"] == user_id
    assert (await error(client, "auth.login", {"email": "late@example.com", "password": PASSWORD}))[
        "code"
    ] == -32001  # the old password is gone


async def test_malformed_input_to_the_other_mfa_procedures(client: httpx.AsyncClient, alice: Mfa) -> None:
    for procedure, params in (
        ("auth.enrolMfa", {}),
        ("auth.enrolMfa", {"challenge": 1}),
        ("auth.enrolMfa", {"challenge": "x" * 101}),
        ("auth.enrolMfa", {"challenge": "x", "userId": alice.user_id}),
        ("auth.confirmMfaEnrolment", {"challenge": "x"}),
        ("auth.confirmMfaEnrolment", {"code": "123456"}),
        ("auth.confirmMfaEnrolment", {"challenge": "x", "code": ["123456"]}),
        ("auth.confirmMfaEnrolment", {"challenge": "x", "code": "<script>"}),
    ):
        assert code_of(await call(client, procedure, params)) == -32602, (procedure, params)
    for procedure, params in (
        ("auth.mfa.disable", {"code": "123456"}),
        ("auth.mfa.disable", {"currentPassword": PASSWORD}),
        ("auth.mfa.disable", {"currentPassword": PASSWORD, "code": 123456}),
        ("auth.mfa.disable", {"currentPassword": "p" * 1000, "code": "123456"}),
        ("auth.mfa.regenerateRecoveryCodes", {}),
        ("auth.mfa.regenerateRecoveryCodes", {"code": "1 OR 1=1"}),
        ("auth.mfa.enrol", {"secret": "AAAA"}),
    ):
        body = await call(client, procedure, params, headers=bearer(alice.token))
        assert code_of(body) == -32602, (procedure, params)


async def test_a_refused_regeneration_keeps_the_old_codes(
    client: httpx.AsyncClient, clock: ManualClock, alice: Mfa
) -> None:
    right = now_code(clock, alice.secret)
    wrong = "000000" if right != "000000" else "111111"
    body = await call(
        client, "auth.mfa.regenerateRecoveryCodes", {"code": wrong}, headers=bearer(alice.token)
    )
    assert code_of(body) == -32003
    status = await result(client, "auth.mfa.getStatus", headers=bearer(alice.token))
    assert status["recoveryCodesLeft"] == 10
    assert "result" in await verify(client, await challenge_of(client, alice.email), alice.codes[0])
