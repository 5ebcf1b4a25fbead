"""The audit log: every mutation and login attempt, failures included, and `audit.getAll`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from procedures.audit.log import Entry, write_entry
from procedures.schemas import Input, Output
from tests.auth.support import PASSWORD, bearer, login, make_user, services
from tests.support import error, result
from tvms.app import Api
from tvms.rpc import Context, ErrorCode, Router, RpcError, roles

probe = Router("probe")


class ProbeInput(Input):
    id: str


class ProbeResult(Output):
    id: str


@probe.mutation("failAfterWrite", auth=roles("ADMIN"))
async def fail_after_write(ctx: Context, input: ProbeInput) -> ProbeResult:
    """Writes a setting inside a transaction, then fails: nothing may remain but the audit row."""
    async with ctx.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (:key, '1', 0)",
            {"key": f"probe.{input.id}"},
        )
        raise RpcError(ErrorCode.CONFLICT, "probe conflict")


@probe.mutation("crashAfterWrite", auth=roles("ADMIN"))
async def crash_after_write(ctx: Context, input: ProbeInput) -> ProbeResult:
    """Like failAfterWrite, with an unexpected exception."""
    async with ctx.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (:key, '1', 0)",
            {"key": f"probe.{input.id}"},
        )
        raise RuntimeError("secret detail")


@pytest.fixture
def test_api(test_api: Api) -> Api:
    """The default API (tests/conftest.py) plus the probe router."""
    return dataclasses.replace(test_api, routers=[*test_api.routers, probe])


@pytest.fixture
async def h(admin: tuple[str, str]) -> AsyncIterator[dict[str, str]]:
    yield bearer(admin[1])


async def _rows(app: Starlette, **where: Any) -> list[dict[str, Any]]:
    clause = " AND ".join(f"{key} = :{key}" for key in where) or "1 = 1"
    columns = "actor_kind, actor_id, actor_role, procedure, target_id, outcome, request_id, client_ip, detail"
    rows = await services(app).db.fetch(
        f"SELECT {columns} FROM audit_log WHERE {clause} ORDER BY at, id",
        where,
    )
    return [{key: row[key] for key in columns.split(", ")} for row in rows]


async def test_a_mutation_is_recorded(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    response = await client.post(
        "/rpc",
        content=msgspec.json.encode(
            {
                "jsonrpc": "2.0",
                "method": "users.create",
                "id": 1,
                "params": {
                    "email": "a@example.com",
                    "password": "Strong#Pass1",
                    "firstName": "A",
                    "lastName": "B",
                    "role": "VIEWER",
                },
            }
        ),
        headers={"content-type": "application/json", "x-request-id": "req-create-1", **bearer(admin[1])},
    )
    created = response.json()["result"]
    rows = await _rows(app, procedure="users.create")
    assert rows == [
        {
            "actor_kind": "user",
            "actor_id": admin[0],
            "actor_role": "ADMIN",
            "procedure": "users.create",
            "target_id": created["id"],
            "outcome": "OK",
            "request_id": "req-create-1",
            "client_ip": "127.0.0.1",
            "detail": None,
        }
    ]
    # The input's id is the target when there is one.
    await result(client, "users.update", {"id": created["id"], "firstName": "Z"}, headers=bearer(admin[1]))
    assert (await _rows(app, procedure="users.update"))[0]["target_id"] == created["id"]


async def test_queries_are_not_recorded(app: Starlette, client: httpx.AsyncClient, h: dict[str, str]) -> None:
    await result(client, "users.getAll", headers=h)
    await result(client, "auth.me", headers=h)
    assert await _rows(app, procedure="users.getAll") == []
    assert await _rows(app, procedure="auth.me") == []


async def test_a_refused_mutation_is_recorded(
    app: Starlette, client: httpx.AsyncClient, admin: tuple[str, str]
) -> None:
    err = await error(client, "users.delete", {"id": admin[0]}, headers=bearer(admin[1]))
    assert err["code"] == -32003
    rows = await _rows(app, procedure="users.delete")
    assert [(r["outcome"], r["target_id"], r["actor_id"]) for r in rows] == [
        ("FORBIDDEN", admin[0], admin[0])
    ]


async def test_a_failed_mutation_leaves_no_partial_write(
    app: Starlette, client: httpx.AsyncClient, h: dict[str, str]
) -> None:
    err = await error(client, "probe.failAfterWrite", {"id": "one"}, headers=h)
    assert err["code"] == -32009
    err = await error(client, "probe.crashAfterWrite", {"id": "two"}, headers=h)
    assert err["code"] == -32603 and "secret" not in str(err)
    db = services(app).db
    assert await db.fetchval("SELECT COUNT(*) FROM settings WHERE key LIKE 'probe.%'") == 0
    assert [
        (r["procedure"], r["outcome"], r["target_id"])
        for r in await _rows(app)
        if r["procedure"].startswith("probe.")
    ] == [
        ("probe.failAfterWrite", "CONFLICT", "one"),
        ("probe.crashAfterWrite", "INTERNAL_SERVER_ERROR", "two"),
    ]


async def test_duplicate_create_rolls_back_and_is_recorded(
    app: Starlette, client: httpx.AsyncClient, h: dict[str, str]
) -> None:
    params = {
        "email": "dup@example.com",
        "password": "Strong#Pass1",
        "firstName": "A",
        "lastName": "B",
        "role": "VIEWER",
    }
    await result(client, "users.create", params, headers=h)
    await error(client, "users.create", params, headers=h)
    assert await services(app).db.fetchval("SELECT COUNT(*) FROM users WHERE email = 'dup@example.com'") == 1
    assert [r["outcome"] for r in await _rows(app, procedure="users.create")] == ["OK", "CONFLICT"]


async def test_login_attempts_are_recorded(app: Starlette, client: httpx.AsyncClient) -> None:
    user_id = await make_user(app, "log@example.com")
    await error(client, "auth.login", {"email": "log@example.com", "password": "Wrong#pass1"})
    await error(client, "auth.login", {"email": "ghost@example.com", "password": "Wrong#pass1"})
    await login(client, "LOG@example.com")
    rows = await _rows(app, procedure="auth.login")
    summary = [(r["outcome"], r["actor_id"], r["target_id"], msgspec.json.decode(r["detail"])) for r in rows]
    assert summary == [
        ("UNAUTHORIZED", user_id, user_id, {"email": "log@example.com", "reason": "wrong password"}),
        ("UNAUTHORIZED", None, None, {"email": "ghost@example.com", "reason": "unknown email"}),
        ("OK", user_id, user_id, {"email": "log@example.com"}),
    ]
    everything = str(await _rows(app))
    assert "Wrong#pass1" not in everything and PASSWORD not in everything


async def test_locked_attempts_are_recorded(app: Starlette, client: httpx.AsyncClient) -> None:
    for _ in range(6):
        await error(client, "auth.login", {"email": "lock@example.com", "password": "Wrong#pass1"})
    outcomes = [r["outcome"] for r in await _rows(app, procedure="auth.login")]
    assert outcomes == ["UNAUTHORIZED"] * 5 + ["TOO_MANY_REQUESTS"]


async def test_a_device_mutation_names_the_device(app: Starlette, client: httpx.AsyncClient) -> None:
    await result(client, "auth.logout", headers={"x-api-key": "test:cam-7"})
    rows = await _rows(app, procedure="auth.logout")
    assert [(r["actor_kind"], r["actor_id"], r["outcome"]) for r in rows] == [("device", "cam-7", "OK")]


async def _seed(app: Starlette) -> None:
    db = services(app).db
    for at, actor, procedure, outcome in (
        (1_700_000_000_000, "u1", "users.create", "OK"),
        (1_700_000_060_000, "u2", "users.delete", "FORBIDDEN"),
        (1_700_000_120_000, "u1", "settings.update", "OK"),
        (1_700_000_180_000, "u1", "users_x.odd", "OK"),
    ):
        await write_entry(
            db,
            Entry(
                at=at,
                procedure=procedure,
                outcome=outcome,
                actor_kind="user",
                actor_id=actor,
                target_id="t-" + actor,
            ),
        )


async def test_get_all_filters_and_paging(
    app: Starlette, client: httpx.AsyncClient, h: dict[str, str]
) -> None:
    await _seed(app)

    async def ids(params: dict[str, Any]) -> list[tuple[str, str]]:
        page = await result(client, "audit.getAll", params, headers=h)
        return [(e["actorId"], e["procedure"]) for e in page["entries"]]

    assert await ids({"actor": "u2"}) == [("u2", "users.delete")]
    assert await ids({"procedure": "users.create"}) == [("u1", "users.create")]
    assert await ids({"procedure": "users."}) == [("u2", "users.delete"), ("u1", "users.create")]
    assert await ids({"procedure": "users_*"}) == [("u1", "users_x.odd")]  # `_` is not a wildcard
    assert await ids({"outcome": "FORBIDDEN"}) == [("u2", "users.delete")]
    assert await ids({"targetId": "t-u2"}) == [("u2", "users.delete")]
    window = {"from": "2023-11-14T22:14:20Z", "to": "2023-11-14T22:15:20.000Z"}
    assert await ids(window) == [("u1", "settings.update"), ("u2", "users.delete")]
    assert await ids({**window, "sortOrder": "asc"}) == [("u2", "users.delete"), ("u1", "settings.update")]
    page = await result(client, "audit.getAll", {"actor": "u1", "take": 2, "skip": 2}, headers=h)
    assert page["total"] == 3 and page["pageCount"] == 2 and len(page["entries"]) == 1
    entry = page["entries"][0]
    assert entry["at"] == "2023-11-14T22:13:20.000Z" and set(entry) == {
        "id",
        "at",
        "actorKind",
        "actorId",
        "actorRole",
        "procedure",
        "targetId",
        "outcome",
        "requestId",
        "clientIp",
        "detail",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"take": 0},
        {"take": 101},
        {"skip": -1},
        {"from": "yesterday"},
        {"from": "2024-01-02T00:00:00"},
        {"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
        {"outcome": "ok; DROP"},
        {"procedure": "*"},
        {"sortOrder": "up"},
        {"actor": ""},
        {"whatever": 1},
    ],
)
async def test_get_all_bad_input(
    client: httpx.AsyncClient, h: dict[str, str], params: dict[str, Any]
) -> None:
    assert (await error(client, "audit.getAll", params, headers=h))["code"] == -32602


@pytest.mark.parametrize("role", ["VIEWER", "OPERATOR"])
async def test_get_all_is_admin_only(app: Starlette, client: httpx.AsyncClient, role: str) -> None:
    await make_user(app, "peek@example.com", role)
    token = await login(client, "peek@example.com")
    assert (await error(client, "audit.getAll", headers=bearer(token)))["code"] == -32003
    assert (await error(client, "audit.getAll"))["code"] == -32001
    assert (await error(client, "audit.getAll", headers={"x-api-key": "test:cam-1"}))["code"] == -32003
