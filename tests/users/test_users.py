"""users.*: ADMIN-only administration, licence limit, unique e-mails, self and last-ADMIN rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import PASSWORD, bearer, login, make_user, services
from tests.support import asgi_client, call, error, result, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config

NEW = {
    "email": "New.User@Example.com",
    "password": "Strong#Pass1",
    "firstName": "New",
    "lastName": "User",
    "role": "VIEWER",
}
USER_KEYS = {
    "id",
    "email",
    "firstName",
    "lastName",
    "role",
    "disabled",
    "createdAt",
    "updatedAt",
    "lastLoginAt",
}


@pytest.fixture
def h(admin: tuple[str, str]) -> dict[str, str]:
    return bearer(admin[1])


async def test_create_and_read(client: httpx.AsyncClient, h: dict[str, str]) -> None:
    user = await result(client, "users.create", NEW, headers=h)
    assert set(user) == USER_KEYS
    assert user["email"] == "new.user@example.com" and user["role"] == "VIEWER" and user["disabled"] is False
    assert user["lastLoginAt"] is None
    assert await result(client, "users.getById", {"id": user["id"]}, headers=h) == user
    token = await login(client, "NEW.USER@example.com", "Strong#Pass1")
    assert (await result(client, "auth.me", headers=bearer(token)))["id"] == user["id"]
    again = await result(client, "users.getById", {"id": user["id"]}, headers=h)
    assert again["lastLoginAt"] is not None


async def test_no_response_ever_carries_a_password_hash(
    app: Starlette, client: httpx.AsyncClient, h: dict[str, str]
) -> None:
    user = await result(client, "users.create", NEW, headers=h)
    responses = [
        await call(client, "users.getAll", {"take": 100}, headers=h),
        await call(client, "users.getById", {"id": user["id"]}, headers=h),
        await call(client, "users.update", {"id": user["id"], "firstName": "X"}, headers=h),
        await call(
            client, "users.resetPassword", {"id": user["id"], "newPassword": "Other#Pass2"}, headers=h
        ),
    ]
    text = str(responses)
    assert "$2b$" not in text and "password" not in text.lower()


async def test_duplicate_email_is_a_conflict(client: httpx.AsyncClient, h: dict[str, str]) -> None:
    await result(client, "users.create", NEW, headers=h)
    for email in ("new.user@example.com", "NEW.USER@EXAMPLE.COM", "ROOT@example.com"):
        err = await error(client, "users.create", {**NEW, "email": email}, headers=h)
        assert err["code"] == -32009, email


@pytest.mark.parametrize(
    "change, path",
    [
        ({"email": "nope"}, "$.email"),
        ({"email": "a@b.c" + "x" * 300}, "$.email"),
        ({"role": "ROOT"}, "$.role"),
        ({"role": "admin"}, "$.role"),
        ({"firstName": ""}, "$.firstName"),
        ({"firstName": "   "}, "$.firstName"),
        ({"firstName": "a\nb"}, "$.firstName"),
        ({"lastName": "x" * 101}, "$.lastName"),
        ({"password": "short"}, "$.password"),
        ({"password": "nouppercase1"}, "$.password"),
        ({"password": "Ab1" + "é" * 35}, "$.password"),
        ({"password": 12345678}, "$.password"),
        ({"passwordHash": "$2b$04$abc"}, "$"),
        ({"id": "chosen-id"}, "$"),
        ({"disabled": True}, "$"),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient, h: dict[str, str], change: dict[str, Any], path: str
) -> None:
    err = await error(client, "users.create", {**NEW, **change}, headers=h)
    assert err["code"] == -32602
    assert err["data"]["issues"][0]["path"].startswith(path)


async def test_licence_max_users(
    config: Config, tmp_path: Path, admin: tuple[str, str], app: Starlette, test_api: Api
) -> None:
    licence = tmp_path / "licence.json"
    licence.write_text('{"maxUsers": 2}')
    limited = Config(
        data_dir=config.data_dir,
        database_url=config.database_url,
        secret_key=config.secret_key,
        license_file=licence,
    )
    async with running_app(limited, test_api, ManualClock()) as other, asgi_client(other) as http:
        h = bearer(admin[1])
        await result(http, "users.create", NEW, headers=h)  # 2 of 2
        err = await error(http, "users.create", {**NEW, "email": "third@example.com"}, headers=h)
        assert err["code"] == -32012 and err["data"]["maxUsers"] == 2
        assert err["message"] == "The licence allows at most 2 users"
        total = await result(http, "users.getAll", headers=h)
        assert total["total"] == 2


async def test_get_all_paging_search_sort(
    app: Starlette, client: httpx.AsyncClient, h: dict[str, str], clock: ManualClock
) -> None:
    for index, (first, role) in enumerate(
        (("Zed", "VIEWER"), ("Amy", "OPERATOR"), ("Bob_x", "VIEWER"), ("Cy%", "ADMIN"))
    ):
        clock.advance(1)
        await make_user(app, f"user{index}@example.com", role, first_name=first, last_name="Person")
    page = await result(
        client, "users.getAll", {"take": 2, "sortBy": "firstName", "sortOrder": "asc"}, headers=h
    )
    assert page["total"] == 5 and page["pageCount"] == 3
    assert [u["firstName"] for u in page["users"]] == ["Amy", "Bob_x"]
    page = await result(client, "users.getAll", {"take": 2, "skip": 4, "sortBy": "firstName"}, headers=h)
    assert [u["firstName"] for u in page["users"]] == ["Amy"]
    newest = await result(client, "users.getAll", {}, headers=h)
    assert newest["users"][0]["firstName"] == "Cy%"  # default: createdAt desc
    assert (await result(client, "users.getAll", {"role": "VIEWER"}, headers=h))["total"] == 2
    assert (await result(client, "users.getAll", {"search": "AMY"}, headers=h))["total"] == 1
    assert (await result(client, "users.getAll", {"search": "user1@"}, headers=h))["total"] == 1
    # LIKE wildcards are literal text.
    assert [
        u["firstName"] for u in (await result(client, "users.getAll", {"search": "_"}, headers=h))["users"]
    ] == ["Bob_x"]
    assert [
        u["firstName"] for u in (await result(client, "users.getAll", {"search": "%"}, headers=h))["users"]
    ] == ["Cy%"]
    for text in ("' OR 1=1 --", "\\", "'); DROP TABLE users; --"):
        assert (await result(client, "users.getAll", {"search": text}, headers=h))["total"] == 0
    assert (await result(client, "users.getAll", {}, headers=h))["total"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"take": 0},
        {"take": 101},
        {"skip": -1},
        {"take": 10**30},
        {"sortBy": "password_hash"},
        {"sortBy": "email; --"},
        {"sortOrder": "sideways"},
        {"role": "ROOT"},
        {"search": "x" * 201},
        {"unknown": 1},
    ],
)
async def test_get_all_bad_input(
    client: httpx.AsyncClient, h: dict[str, str], params: dict[str, Any]
) -> None:
    assert (await error(client, "users.getAll", params, headers=h))["code"] == -32602


async def test_not_found(client: httpx.AsyncClient, h: dict[str, str]) -> None:
    for name, params in (
        ("users.getById", {"id": "missing"}),
        ("users.update", {"id": "missing", "firstName": "X"}),
        ("users.delete", {"id": "missing"}),
        ("users.resetPassword", {"id": "missing", "newPassword": "Other#Pass2"}),
    ):
        err = await error(client, name, params, headers=h)
        assert err["code"] == -32004, name
        assert err["message"] == "User 'missing' not found"


async def test_update(app: Starlette, client: httpx.AsyncClient, h: dict[str, str]) -> None:
    user_id = await make_user(app, "up@example.com")
    token = await login(client, "up@example.com")
    out = await result(client, "users.update", {"id": user_id, "firstName": "Renamed"}, headers=h)
    assert out["firstName"] == "Renamed" and out["lastName"] == "User"
    assert await result(client, "auth.me", headers=bearer(token))  # a rename keeps sessions
    out = await result(client, "users.update", {"id": user_id, "role": "OPERATOR"}, headers=h)
    assert out["role"] == "OPERATOR"
    assert (await error(client, "auth.me", headers=bearer(token)))["code"] == -32001
    assert (await error(client, "users.update", {"id": user_id}, headers=h))["code"] == -32602


async def test_no_demoting_or_disabling_yourself(
    client: httpx.AsyncClient, admin: tuple[str, str], app: Starlette
) -> None:
    await make_user(app, "second-admin@example.com", "ADMIN")
    for change in ({"role": "VIEWER"}, {"disabled": True}):
        err = await error(client, "users.update", {"id": admin[0], **change}, headers=bearer(admin[1]))
        assert err["code"] == -32003
    assert (await error(client, "users.delete", {"id": admin[0]}, headers=bearer(admin[1])))["code"] == -32003
    err = await error(
        client,
        "users.resetPassword",
        {"id": admin[0], "newPassword": "Other#Pass2"},
        headers=bearer(admin[1]),
    )
    assert err["code"] == -32003
    out = await result(
        client,
        "users.update",
        {"id": admin[0], "firstName": "Still", "role": "ADMIN"},
        headers=bearer(admin[1]),
    )
    assert out["role"] == "ADMIN" and out["firstName"] == "Still"


async def test_the_last_admin_stays(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    """Reachable when the caller's own account is not an enabled ADMIN row (e.g. removed meanwhile)."""
    other = await make_user(app, "other-admin@example.com", "ADMIN")
    other_token = await login(client, "other-admin@example.com")
    # Another admin demotes the root admin: allowed while `other` remains.
    await result(client, "users.update", {"id": admin[0], "role": "OPERATOR"}, headers=bearer(other_token))
    # Now `other` is the last enabled admin; removing it is refused whoever asks.
    db = services(app).db
    await db.execute("UPDATE users SET role = 'ADMIN' WHERE id = :id", {"id": admin[0]})
    await db.execute("UPDATE users SET disabled = TRUE WHERE id = :id", {"id": admin[0]})
    fresh = await make_user(app, "third@example.com", "ADMIN")
    third = await login(client, "third@example.com")
    await result(client, "auth.me", headers=bearer(third))  # caches the session state as ADMIN
    await db.execute("UPDATE users SET role = 'OPERATOR' WHERE id = :id", {"id": fresh})
    # `third` still has a cached valid ADMIN session for up to 5 s in this process: use it.
    for name, params in (
        ("users.update", {"id": other, "role": "VIEWER"}),
        ("users.update", {"id": other, "disabled": True}),
        ("users.delete", {"id": other}),
    ):
        err = await error(client, name, params, headers=bearer(third))
        assert err["code"] == -32012, (name, err)
        assert "last enabled ADMIN" in err["message"]


async def test_delete(app: Starlette, client: httpx.AsyncClient, h: dict[str, str]) -> None:
    user_id = await make_user(app, "del@example.com")
    token = await login(client, "del@example.com")
    assert await result(client, "users.delete", {"id": user_id}, headers=h) == {
        "id": user_id,
        "deleted": True,
    }
    assert (await error(client, "auth.me", headers=bearer(token)))["code"] == -32001
    assert (await error(client, "users.getById", {"id": user_id}, headers=h))["code"] == -32004
    assert (await error(client, "auth.login", {"email": "del@example.com", "password": PASSWORD}))[
        "code"
    ] == -32001
    # The address can be used again.
    assert (await result(client, "users.create", {**NEW, "email": "del@example.com"}, headers=h))[
        "id"
    ] != user_id


async def test_reset_password(app: Starlette, client: httpx.AsyncClient, h: dict[str, str]) -> None:
    user_id = await make_user(app, "rp@example.com")
    token = await login(client, "rp@example.com")
    err = await error(client, "users.resetPassword", {"id": user_id, "newPassword": "weak"}, headers=h)
    assert err["code"] == -32602 and err["data"]["issues"][0]["path"] == "$.newPassword"
    await result(client, "users.resetPassword", {"id": user_id, "newPassword": "Reset#Pass1"}, headers=h)
    assert (await error(client, "auth.me", headers=bearer(token)))["code"] == -32001
    assert (await error(client, "auth.login", {"email": "rp@example.com", "password": PASSWORD}))[
        "code"
    ] == -32001
    assert await login(client, "rp@example.com", "Reset#Pass1")


@pytest.mark.parametrize("role", ["VIEWER", "OPERATOR"])
async def test_only_admins(app: Starlette, client: httpx.AsyncClient, role: str) -> None:
    user_id = await make_user(app, f"{role.lower()}@example.com", role)
    token = await login(client, f"{role.lower()}@example.com")
    for name, params in (
        ("users.getAll", {}),
        ("users.getById", {"id": user_id}),
        ("users.create", NEW),
        ("users.update", {"id": user_id, "role": "ADMIN"}),
        ("users.delete", {"id": user_id}),
        ("users.resetPassword", {"id": user_id, "newPassword": "Reset#Pass1"}),
    ):
        assert (await error(client, name, params, headers=bearer(token)))["code"] == -32003, name
        assert (await error(client, name, params))["code"] == -32001, name
    me = await result(client, "auth.me", headers=bearer(token))
    assert me["role"] == role  # nothing changed
