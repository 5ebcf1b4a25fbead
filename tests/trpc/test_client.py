"""The real @trpc/client (httpBatchLink + superjson) against a real `tvms serve` process."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.server import live_server
from tvms.db import open_database
from tvms.security import Passwords

EMAIL = "trpc.admin@example.com"
PASSWORD = "Trpc-Client-Pass-1"
DATE_MUTATION = os.environ.get("TVMS_DATE_MUTATION", "settings.update")
"""The mutation the `date` step sends a Date to (run.mjs knows settings.update, reports.generate)."""


async def seed_admin(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        hashed = await Passwords(4).hash(PASSWORD)  # the server's TVMS_BCRYPT_ROUNDS below
        await db.execute(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, role, disabled,"
            " token_version, password_changed_at, created_at, updated_at) VALUES (:id, :email,"
            " :hash, 'Trpc', 'Admin', 'ADMIN', FALSE, 0, :now, :now, :now)",
            {"id": "trpc-admin-1", "email": EMAIL, "hash": hashed, "now": int(time.time() * 1000)},
        )
    finally:
        await db.close()


@pytest.fixture
def seeded(database_url: str) -> str:
    """The test database with one ADMIN user (EMAIL / PASSWORD)."""
    anyio.run(seed_admin, database_url)
    return database_url


@pytest.fixture
def server(seeded: str, tmp_path: Path) -> Iterator[str]:
    """A `tvms serve` process on a free port; yields its base URL."""
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": seeded,
        "TVMS_BCRYPT_ROUNDS": "4",
        "TVMS_LOG_LEVEL": "WARNING",
    }
    with live_server(env, tmp_path / "serve.log") as live:
        probe = httpx.get(f"{live.url}/trpc/system.getLicense")
        assert probe.status_code == 200, (
            f"/trpc is not served by `tvms serve`: {probe.status_code} {probe.text}"
        )
        yield live.url
    assert "Traceback" not in live.stderr, live.stderr


def run_client(client_dir: Path, base: str, *steps: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "run.mjs", *steps],
        cwd=client_dir,
        env={
            **os.environ,
            "TVMS_URL": base,
            "TVMS_EMAIL": EMAIL,
            "TVMS_PASSWORD": PASSWORD,
            "TVMS_DATE_MUTATION": DATE_MUTATION,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_query_batch_of_five_and_errors(node_client: Path, server: str) -> None:
    done = run_client(node_client, server, "query", "batch", "error")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["ok", "query", "ok", "batch", "ok", "error"]


def test_bearer_call_and_date_mutation(node_client: Path, server: str) -> None:
    done = run_client(node_client, server, "bearer", "date")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["ok", "bearer", "ok", "date"]


def test_the_script_fails_on_a_mismatch(node_client: Path, server: str) -> None:
    """The proof is only worth something if the script can fail: point it at the wrong base."""
    done = run_client(node_client, server + "/nowhere", "query")
    assert done.returncode == 1 and "FAIL" in done.stderr
