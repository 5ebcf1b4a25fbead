"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when TVMS_TEST_DATABASE_URL
names a server), the app with its lifespan running, and an in-process HTTP client."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from procedures import api
from tests.support import asgi_client, running_app, test_resolver
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.db import migrate, open_database
from tvms.db.migrate import schema_text
from tvms.db.testing import drop_database, fresh_database_url

# bcrypt at cost 4 in tests (production uses 12): the suite hashes hundreds of passwords. The
# in-process apps get it through `Config(bcrypt_rounds=...)`, the servers started as processes
# through the environment.
BCRYPT_ROUNDS = 4
os.environ.setdefault("TVMS_BCRYPT_ROUNDS", str(BCRYPT_ROUNDS))

POSTGRES_SERVER = os.environ.get("TVMS_TEST_DATABASE_URL")
ENGINE = "postgresql" if POSTGRES_SERVER else "sqlite"
# TVMS_TEST_DB_FAST_PATHS=0: the app fixtures run with the database layer's fast paths off
# (Config.db_fast_paths), so CI can run any subset of the suite that way.
_FAST_PATHS_SETTING = os.environ.get("TVMS_TEST_DB_FAST_PATHS", "1")
if _FAST_PATHS_SETTING not in ("0", "1"):
    raise pytest.UsageError(f"TVMS_TEST_DB_FAST_PATHS must be 0 or 1, got {_FAST_PATHS_SETTING!r}")
DB_FAST_PATHS = _FAST_PATHS_SETTING == "1"


def pytest_report_header() -> str:
    server = f" ({POSTGRES_SERVER})" if POSTGRES_SERVER else ""
    return f"tvms: database engine {ENGINE}{server}, fast paths {'on' if DB_FAST_PATHS else 'off'}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _migrated(url: str) -> str:
    db = await open_database(url)
    try:
        await migrate(db, schema_text())
    finally:
        await db.close()
    return url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """On PostgreSQL, one migrated database per test session that every test's database copies."""
    if not POSTGRES_SERVER:
        yield None
        return
    url = asyncio.run(_migrated(asyncio.run(fresh_database_url(POSTGRES_SERVER))))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
def database_url(tmp_path: Path, postgres_template: str | None) -> Iterator[str]:
    """A migrated, empty database of the engine under test, dropped afterwards.

    A plain fixture (its own short event loop) so that sync tests, such as the ones that run
    `tvms` in a subprocess, can use it as well as async ones.
    """
    if not POSTGRES_SERVER:
        yield asyncio.run(_migrated(f"sqlite:///{tmp_path / 'tvms.db'}"))
        return
    url = asyncio.run(fresh_database_url(POSTGRES_SERVER, template=postgres_template))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(
        data_dir=tmp_path, database_url=database_url, bcrypt_rounds=BCRYPT_ROUNDS, db_fast_paths=DB_FAST_PATHS
    )


@pytest.fixture
def test_api() -> Api:
    """The real API with the test-only resolver (`Bearer test:ROLE:id`)."""
    return dataclasses.replace(api(), resolver=test_resolver)


@pytest.fixture
async def app(config: Config, test_api: Api, clock: ManualClock) -> AsyncIterator[Starlette]:
    async with running_app(config, test_api, clock) as application:
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http:
        yield http
