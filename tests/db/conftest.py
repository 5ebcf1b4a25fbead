"""Fixtures of the database-layer tests: each test runs on every engine the suite can reach."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tvms.db import Database, open_database
from tvms.db.testing import TEST_DATABASE_URL_ENV, temporary_database_url

SERVER_URL = os.environ.get(TEST_DATABASE_URL_ENV)
# PostgreSQL joins when the suite runs against a server (CI's second run sets the variable).
ENGINES = ["sqlite", *(["postgresql"] if SERVER_URL else [])]


@pytest.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    server = SERVER_URL if request.param == "postgresql" else None
    async with temporary_database_url(server, tmp_path) as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await open_database(database_url)
    try:
        yield db
    finally:
        await db.close()
