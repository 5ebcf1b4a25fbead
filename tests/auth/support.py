"""Fixtures and helpers for the auth, users and audit tests: the default app (tests/conftest.py)
with a fixed secret key, so that tokens can be minted here, and real users in its database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.users.store import insert_user
from tests.support import asgi_client, call, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.ids import new_id
from tvms.rpc import Services
from tvms.security.passwords import hash_password
from tvms.security.tokens import encode_token

SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "Secret#123"


@pytest.fixture(autouse=True)
def bcrypt_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cost 4 keeps the suite fast; production uses 12."""
    monkeypatch.setenv("TVMS_BCRYPT_ROUNDS", "4")
    yield


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(data_dir=tmp_path, database_url=database_url, secret_key=SECRET)


@pytest.fixture
async def second_app(
    config: Config, test_api: Api
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, ManualClock]]:
    """A second app instance sharing the database (its own cache and clock), like a 2nd process."""
    clock = ManualClock()
    async with running_app(config, test_api, clock) as application, asgi_client(application, 50001) as http:
        yield application, http, clock


def services(app: Starlette) -> Services:
    found: Services = app.state.services
    return found


async def make_user(
    app: Starlette,
    email: str,
    role: str = "VIEWER",
    password: str = PASSWORD,
    *,
    first_name: str = "Test",
    last_name: str = "User",
    user_id: str | None = None,
) -> str:
    """Insert a user straight into the database; returns its id."""
    user_id = user_id or new_id()
    svc = services(app)
    password_hash = await hash_password(password)
    async with svc.db.transaction() as tx:
        await insert_user(
            tx,
            {
                "id": user_id,
                "email": email.lower(),
                "hash": password_hash,
                "first_name": first_name,
                "last_name": last_name,
                "role": role,
                "now": svc.clock.now_ms(),
            },
        )
    return user_id


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    body = await call(client, "auth.login", {"email": email, "password": password})
    assert "result" in body, body
    token: str = body["result"]["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def mint(app: Starlette, user_id: str, **overrides: Any) -> str:
    """A correctly signed token for the user as stored (fast: no bcrypt, no login)."""
    svc = services(app)
    row = await svc.db.fetchrow(
        "SELECT email, first_name, last_name, role, token_version FROM users WHERE id = :id", {"id": user_id}
    )
    assert row is not None
    values: dict[str, Any] = {
        "user_id": user_id,
        "email": row["email"],
        "role": row["role"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "version": int(row["token_version"]),
        "now_ms": svc.clock.now_ms(),
        "lifetime_s": 3600,
    }
    values.update(overrides)
    token, _ = encode_token(SECRET.encode(), **values)
    return token


@pytest.fixture
async def admin(app: Starlette, client: httpx.AsyncClient) -> tuple[str, str]:
    """A real ADMIN user: (id, token)."""
    user_id = await make_user(app, "root@example.com", "ADMIN", first_name="Root", last_name="Admin")
    return user_id, await login(client, "root@example.com")
