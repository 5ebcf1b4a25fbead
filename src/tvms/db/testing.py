"""Helpers for test suites: a fresh, uniquely named database per test, on SQLite or PostgreSQL.

Kept out of the test tree so that every suite (tests/db, the service's conftest) shares one
implementation. Nothing here reads the environment: callers pass the server URL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

TEST_DATABASE_URL_ENV = "TVMS_TEST_DATABASE_URL"
_PREFIX = "tvms_test_"


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def fresh_database_url(server_url: str, *, template: str | None = None) -> str:
    """Create a database with a unique name on the server of `server_url`; its URL.

    Empty, or a copy of the database at `template` (a URL made by this function): copying a
    migrated template is much faster than migrating every test's database again.
    """
    name = f"{_PREFIX}{uuid.uuid4().hex[:16]}"
    copy = "" if template is None else f' TEMPLATE "{_name_of(template)}"'
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    return _with_database(server_url, name)


def _name_of(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(_PREFIX) or not name[len(_PREFIX) :].isalnum():
        raise ValueError(f"{name!r} was not made by fresh_database_url")
    return name


async def drop_database(url: str) -> None:
    """Drop a database made by `fresh_database_url` (refuses any other name)."""
    name = _name_of(url)
    conn = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def temporary_database_url(server_url: str | None, directory: Path) -> AsyncIterator[str]:
    """A URL for a fresh database: SQLite in `directory` when `server_url` is None, else a new
    PostgreSQL database on that server, dropped on exit."""
    if server_url is None:
        yield f"sqlite:///{(directory / 'tvms-test.db').resolve()}"
        return
    url = await fresh_database_url(server_url)
    try:
        yield url
    finally:
        await drop_database(url)
