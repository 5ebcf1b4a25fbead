"""Fixtures and helpers for the auth, users and audit tests.

The app is the real API plus the auth, users and audit routers, the bearer resolver composed
with the test-only device resolver (`X-API-Key: test:<id>`), and the audit middleware. Once the
lead wires these into `procedures.api()` the fixture keeps working (nothing is added twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures import api
from procedures.audit import audit, audit_middleware
from procedures.auth import auth, resolve_bearer
from procedures.users import users
from procedures.users.store import insert_user
from tests.support import call, test_resolver
from tvms.app import Api, create_app
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.ids import new_id
from tvms.rpc import Credentials, Principal, Services
from tvms.security.passwords import hash_password
from tvms.security.tokens import encode_token

SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "Secret#123"


async def composed_resolver(credentials: Credentials, services: Services) -> Principal | None:
    """Real bearer tokens; device keys from the test-only resolver."""
    if credentials.bearer is not None:
        return await resolve_bearer(credentials, services)
    if credentials.api_key is not None:
        return await test_resolver(Credentials(api_key=credentials.api_key), services)
    return None


def auth_api() -> Api:
    base = api()
    routers = [*base.routers, *(r for r in (auth, users, audit) if r not in base.routers)]
    middleware = [*base.middleware, *(m for m in (audit_middleware,) if m not in base.middleware)]
    return dataclasses.replace(base, routers=routers, resolver=composed_resolver, middleware=middleware)


@pytest.fixture(autouse=True)
def bcrypt_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cost 4 keeps the suite fast; production uses 12."""
    monkeypatch.setenv("TVMS_BCRYPT_ROUNDS", "4")
    yield


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(data_dir=tmp_path, database_url=database_url, secret_key=SECRET)


@pytest.fixture
def test_api() -> Api:
    return auth_api()


async def start_app(config: Config, clock: ManualClock, the_api: Api | None = None) -> tuple[Starlette, Any]:
    """Another app (= another process) on the same database; returns (app, lifespan cm)."""
    application = create_app(config, the_api or auth_api(), clock=clock, validate_output=True)
    lifespan = application.router.lifespan_context(application)
    await lifespan.__aenter__()
    return application, lifespan


@pytest.fixture
async def second_app(config: Config) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, ManualClock]]:
    """A second app instance sharing the database (its own cache and clock), like a 2nd process."""
    clock = ManualClock()
    application, lifespan = await start_app(config, clock)
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50001))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tvms.test") as http:
            yield application, http, clock
    finally:
        await lifespan.__aexit__(None, None, None)


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
