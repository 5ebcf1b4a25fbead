"""Fixtures and helpers for the auth, users and audit tests: the default app (tests/conftest.py)
with a fixed secret key, so that tokens can be minted here, and real users in its database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.users.store import insert_user
from tests.support import asgi_client, call, error, result, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.ids import new_id
from tvms.rpc import Services
from tvms.security.tokens import encode_token
from tvms.security.totp import code_at

SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "Secret#123"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(data_dir=tmp_path, database_url=database_url, secret_key=SECRET, bcrypt_rounds=4)


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
    password_hash = await svc.passwords.hash(password)
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


# ----- a second factor (TOTP) ----------------------------------------------------------------

STEP = 30


class Mfa:
    """A user with a confirmed second factor: id, session token, secret and recovery codes."""

    def __init__(self, user_id: str, email: str, token: str, secret: str, codes: list[str]) -> None:
        self.user_id = user_id
        self.email = email
        self.token = token
        self.secret = secret
        self.codes = codes


def now_code(clock: ManualClock, secret: str, steps: int = 0) -> str:
    return code_at(secret, clock.now_ms() + steps * STEP * 1000)


async def enable(client: httpx.AsyncClient, clock: ManualClock, token: str) -> tuple[str, list[str]]:
    secret: str = (await result(client, "auth.mfa.enrol", headers=bearer(token)))["secret"]
    out = await result(client, "auth.mfa.confirm", {"code": now_code(clock, secret)}, headers=bearer(token))
    clock.advance(STEP)  # the confirming code's step is used up
    return secret, out["recoveryCodes"]


async def challenge_of(client: httpx.AsyncClient, email: str, reason: str = "MFA_REQUIRED") -> str:
    err = await error(client, "auth.login", {"email": email, "password": PASSWORD})
    assert err["code"] == -32012 and err["data"]["reason"] == reason, err
    assert "token" not in err["data"]
    challenge: str = err["data"]["challenge"]
    return challenge


async def verify(client: httpx.AsyncClient, challenge: str, code: str) -> dict[str, Any]:
    return await call(client, "auth.verifyMfa", {"challenge": challenge, "code": code})


def code_of(body: dict[str, Any]) -> int | None:
    found = body.get("error", {}).get("code")
    return found if isinstance(found, int) else None


async def make_mfa_user(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, email: str, role: str = "VIEWER"
) -> Mfa:
    user_id = await make_user(app, email, role)
    token = await login(client, email)
    secret, codes = await enable(client, clock, token)
    return Mfa(user_id, email, token, secret, codes)
