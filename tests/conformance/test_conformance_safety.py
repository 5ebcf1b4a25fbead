"""`tvms conformance` never harms the server it checks: by default it only reads, and leaves the
database (data and sessions) exactly as it was; examples that write need an explicit flag and a
server started for the purpose or named disposable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from tests.conformance.test_conformance_live import seed_demo
from tests.server import live_server
from tvms.conformance import Result, run
from tvms.conformance.runner import WRITES_SKIPPED, main
from tvms.db import open_database
from tvms.seeding.seed import DEMO_EMAIL, DEMO_PASSWORD

# The rate limiter's per-client counters of failed calls: the JSON-RPC vectors fail on purpose,
# and counting them is the limiter's job (the rows expire with their window); they are neither
# data nor sessions.
COUNTERS = {"rate_limit_hits"}


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the rate limiter's counters, in a stable order."""
    db = await open_database(url)
    try:
        if db.engine == "sqlite":
            rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        else:
            rows = await db.fetch(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = current_schema() ORDER BY table_name"
            )
        tables = [
            row["name"]
            for row in rows
            if not row["name"].startswith("sqlite_") and row["name"] not in COUNTERS
        ]
        content = {}
        for table in tables:
            records = await db.fetch(f'SELECT * FROM "{table}"')  # a test's own whole-table dump
            content[table] = sorted(tuple(str(value) for value in record) for record in records)
        return content
    finally:
        await db.close()


def _login(url: str) -> str:
    body = {
        "jsonrpc": "2.0",
        "method": "auth.login",
        "params": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
    }
    token: str = httpx.post(f"{url}/rpc", json={**body, "id": 1}, timeout=30).json()["result"]["token"]
    return token


def _me(url: str, token: str) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "method": "auth.me", "id": 1}
    answer: dict[str, Any] = httpx.post(
        f"{url}/rpc", json=body, headers={"authorization": f"Bearer {token}"}, timeout=30
    ).json()
    return answer


async def test_the_default_check_leaves_a_live_server_exactly_as_it_was(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    seed_demo(env, tmp_path)
    with live_server(env, tmp_path / "serve.log", cwd=tmp_path) as server:
        token = await anyio.to_thread.run_sync(_login, server.url)
        before = await snapshot(database_url)
        status = await anyio.to_thread.run_sync(main, [server.url, "--bearer", token])
        after = await snapshot(database_url)
        assert "error" not in await anyio.to_thread.run_sync(_me, server.url, token)  # still signed in
    out = capsys.readouterr().out
    assert status == 0, out
    assert after == before
    # the examples that write were not run, and say why
    assert "SKIP  example auth.logout example" in out and WRITES_SKIPPED in out
    assert "SKIP  example sensors.delete example" in out
    assert "PASS  example sensors.getAll example" in out


def test_write_against_a_named_server_needs_disposable(capsys: pytest.CaptureFixture[str]) -> None:
    # refused before any request: nothing listens on this port
    assert main(["http://127.0.0.1:9", "--write"]) == 2
    assert "--disposable" in capsys.readouterr().err


def _failures(results: list[Result]) -> list[Result]:
    return [r for r in results if not r.passed]


def test_write_runs_every_example_on_a_server_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--write"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "FAIL" not in out
    assert "PASS  example auth.logout example" in out
    assert "PASS  example sensors.delete example" in out
    assert " 0 failed, 0 skipped" in out


async def test_write_with_disposable_runs_the_mutations(tmp_path: Path, database_url: str) -> None:
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    seed_demo(env, tmp_path)
    with live_server(env, tmp_path / "serve.log", cwd=tmp_path) as server:
        token = await anyio.to_thread.run_sync(_login, server.url)
        headers = {"authorization": f"Bearer {token}"}
        results = await anyio.to_thread.run_sync(lambda: run(server.url, headers=headers, write=True))
    assert _failures(results) == []
    ran = {r.name.split(" example")[0] for r in results if r.kind == "example" and not r.skipped}
    assert {"auth.logout", "locations.delete", "sensors.create"} <= ran
