"""Attacks through batches and concurrency: many logins in one request, forked token rotations,
and a revoked token that keeps working for the rest of its batch."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import msgspec
import pytest
from starlette.applications import Starlette

import tvms.security.passwords as passwords
from tests.auth.support import PASSWORD, bearer, login, make_user, services
from tests.support import call, result

TOO_MANY = -32029
UNAUTHORIZED = -32001


async def batch(
    client: httpx.AsyncClient, items: list[tuple[str, Any]], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """POST a batch of (method, params) and return the answers in request order."""
    requests = [
        {"jsonrpc": "2.0", "method": method, "id": index, **({} if params is None else {"params": params})}
        for index, (method, params) in enumerate(items)
    ]
    response = await client.post(
        "/rpc",
        content=msgspec.json.encode(requests),
        headers={"content-type": "application/json", **(headers or {})},
    )
    assert response.status_code == 200, response.text
    answers: list[dict[str, Any]] = sorted(response.json(), key=lambda answer: answer["id"])
    assert len(answers) == len(items)
    return answers


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every bcrypt verification and hash made from now on (the expensive work an attacker buys)."""
    calls: list[str] = []
    real_verify, real_hash = passwords._verify_sync, passwords._hash_sync

    def verify(password: str, hashed: str) -> bool:
        calls.append("verify")
        return real_verify(password, hashed)

    def hash_(password: str, rounds: int) -> str:
        calls.append("hash")
        return real_hash(password, rounds)

    monkeypatch.setattr(passwords, "_verify_sync", verify)
    monkeypatch.setattr(passwords, "_hash_sync", hash_)
    return calls


# ----- 1. at most one auth.login per HTTP request ------------------------------------------------


async def test_a_batch_of_logins_costs_one_bcrypt_check(
    app: Starlette, client: httpx.AsyncClient, bcrypt_calls: list[str]
) -> None:
    passwords._dummy_hash(app.state.services.config.bcrypt_rounds)  # made once: not the attacker's cost
    bcrypt_calls.clear()
    items = [("auth.login", {"email": f"nobody{i}@example.com", "password": "Guess#123"}) for i in range(100)]
    answers = await batch(client, items)
    assert answers[0]["error"]["code"] == UNAUTHORIZED
    for answer in answers[1:]:
        assert answer["error"]["code"] == TOO_MANY, answer
        assert answer["error"]["message"] == (
            "Only one auth.login is allowed per HTTP request; send further logins separately"
        )
    assert bcrypt_calls == ["verify"]
    # The refused ones did not even register a lockout attempt.
    count = await services(app).db.fetchval("SELECT COUNT(*) FROM login_attempts")
    assert int(count or 0) == 1


async def test_a_second_login_in_the_batch_is_refused_even_after_a_success(
    app: Starlette, client: httpx.AsyncClient, bcrypt_calls: list[str]
) -> None:
    await make_user(app, "one@example.com")
    bcrypt_calls.clear()
    credentials = {"email": "one@example.com", "password": PASSWORD}
    answers = await batch(
        client, [("auth.login", credentials), ("auth.login", credentials), ("system.health", None)]
    )
    assert answers[0]["result"]["user"]["email"] == "one@example.com"
    assert answers[1]["error"]["code"] == TOO_MANY
    assert "result" in answers[2]  # other procedures in the batch are unaffected
    assert bcrypt_calls == ["verify"]
    # The next HTTP request may log in again, and the first token works.
    assert await login(client, "one@example.com")
    token = answers[0]["result"]["token"]
    assert (await result(client, "auth.me", headers=bearer(token)))["email"] == "one@example.com"


async def test_separate_requests_each_get_their_login(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "two@example.com")
    for _ in range(3):
        assert await login(client, "two@example.com")


async def test_an_invalid_login_item_does_not_use_up_the_login(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Items refused before the handler (bad params) spend nothing, so they do not count."""
    await make_user(app, "three@example.com")
    answers = await batch(
        client,
        [
            ("auth.login", {"email": "three@example.com"}),
            ("auth.login", {"email": "three@example.com", "password": PASSWORD}),
        ],
    )
    assert answers[0]["error"]["code"] == -32602
    assert answers[1]["result"]["user"]["email"] == "three@example.com"


# ----- 2. a token rotates exactly once ------------------------------------------------------------


async def test_concurrent_refreshes_of_one_token_fork_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user(app, "fork@example.com")
    token = await login(client, "fork@example.com")
    await result(client, "auth.me", headers=bearer(token))  # cached as valid: every refresh passes it
    bodies: list[dict[str, Any]] = []

    async def refresh() -> None:
        bodies.append(await call(client, "auth.refreshToken", headers=bearer(token)))

    async with anyio.create_task_group() as tasks:
        for _ in range(20):
            tasks.start_soon(refresh)
    winners = [body["result"]["token"] for body in bodies if "result" in body]
    losers = [body["error"] for body in bodies if "error" in body]
    assert len(winners) == 1, bodies
    assert len(losers) == 19
    assert {(err["code"], err["message"]) for err in losers} == {(UNAUTHORIZED, "Invalid or expired token")}
    assert (await result(client, "auth.me", headers=bearer(winners[0])))["email"] == "fork@example.com"
    assert (await call(client, "auth.me", headers=bearer(token)))["error"]["code"] == UNAUTHORIZED
    rows = await services(app).db.fetchval("SELECT COUNT(*) FROM revoked_tokens")
    assert int(rows or 0) == 1


async def test_a_refreshed_token_cannot_be_refreshed_again(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "again@example.com")
    token = await login(client, "again@example.com")
    new = (await result(client, "auth.refreshToken", headers=bearer(token)))["token"]
    assert (await call(client, "auth.refreshToken", headers=bearer(token)))["error"]["code"] == UNAUTHORIZED
    newer = (await result(client, "auth.refreshToken", headers=bearer(new)))["token"]
    assert (await result(client, "auth.me", headers=bearer(newer)))["email"] == "again@example.com"


# ----- 3. a token revoked in a batch stops working for the rest of it ----------------------------


async def test_logout_ends_the_token_for_the_rest_of_the_batch(
    client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    answers = await batch(
        client,
        [("users.getAll", {}), ("auth.logout", {}), ("users.getAll", {}), ("auth.me", None)],
        headers=bearer(admin[1]),
    )
    assert answers[0]["result"]["total"] == 1  # before the logout the token works (and is cached)
    assert answers[1]["result"] == {"success": True}
    assert answers[2]["error"]["code"] == UNAUTHORIZED
    assert answers[3]["error"]["code"] == UNAUTHORIZED


async def test_logout_everywhere_in_a_batch(client: httpx.AsyncClient, admin: tuple[str, str]) -> None:
    answers = await batch(
        client, [("auth.logout", {"everywhere": True}), ("users.getAll", {})], headers=bearer(admin[1])
    )
    assert answers[1]["error"]["code"] == UNAUTHORIZED


async def test_refresh_ends_the_old_token_for_the_rest_of_the_batch(
    client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    answers = await batch(
        client,
        [("auth.refreshToken", None), ("users.getAll", {}), ("auth.refreshToken", None)],
        headers=bearer(admin[1]),
    )
    new = answers[0]["result"]["token"]
    assert answers[1]["error"]["code"] == UNAUTHORIZED
    assert answers[2]["error"]["code"] == UNAUTHORIZED  # no second rotation of the same token
    assert (await result(client, "users.getAll", {}, headers=bearer(new)))["total"] == 1


async def test_change_password_ends_the_old_token_for_the_rest_of_the_batch(
    client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    change = {"currentPassword": PASSWORD, "newPassword": "Brand#New9"}
    answers = await batch(
        client, [("auth.changePassword", change), ("users.getAll", {})], headers=bearer(admin[1])
    )
    assert "token" in answers[0]["result"]
    assert answers[1]["error"]["code"] == UNAUTHORIZED
    assert await result(client, "users.getAll", {}, headers=bearer(answers[0]["result"]["token"]))


async def test_changing_your_own_names_keeps_the_session(
    client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    """users.update on yourself re-resolves the caller; the token still stands (names are no check)."""
    answers = await batch(
        client,
        [("users.update", {"id": admin[0], "firstName": "Renamed"}), ("auth.me", None)],
        headers=bearer(admin[1]),
    )
    assert answers[0]["result"]["firstName"] == "Renamed"
    assert answers[1]["result"]["firstName"] == "Renamed"


async def test_an_admin_disabling_another_user_does_not_touch_its_own_session(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    other = await make_user(app, "victim@example.com")
    answers = await batch(
        client,
        [("users.update", {"id": other, "disabled": True}), ("users.getAll", {})],
        headers=bearer(admin[1]),
    )
    assert answers[0]["result"]["disabled"] is True
    assert answers[1]["result"]["total"] == 2
