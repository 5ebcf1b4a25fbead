"""Liveness and readiness: what a load balancer polls to take a broken replica out of rotation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from procedures import api
from tests.support import asgi_client, running_app
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.readiness import Readiness
from tvms.storage.base import StorageError

RPC_HEALTH = {"jsonrpc": "2.0", "id": 1, "method": "system.health"}


def trpc_data(response: httpx.Response) -> Any:
    """A tRPC answer's data (superjson wraps it in `json`)."""
    data = response.json()["result"]["data"]
    return data.get("json", data)


@pytest.fixture
async def broken_db(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # A PostgreSQL port nothing listens on: every connection is refused.
    config = Config(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/none")
    async with running_app(config, api(), ManualClock()) as app, asgi_client(app) as client:
        yield client


@pytest.fixture
async def broken_s3(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "tvms")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "tvms-secret")
    config = Config(
        data_dir=tmp_path,
        database_url=database_url,
        storage_url="s3://tvms?endpoint=http://127.0.0.1:1&region=us-east-1",
    )
    async with running_app(config, api(), ManualClock()) as app, asgi_client(app) as client:
        yield client


async def test_a_healthy_replica_is_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
    health = await client.get("/rpc/system.health")
    assert health.status_code == 200 and health.json()["result"]["status"] == "ok"
    trpc = await client.get("/trpc/system.health")
    assert trpc.status_code == 200 and trpc_data(trpc)["status"] == "ok"


async def test_database_refusing_connections_makes_the_replica_unready(
    broken_db: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tvms.readiness"):
        assert (await broken_db.get("/healthz")).status_code == 200  # alive all the same
        ready = await broken_db.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "checks": {"database": "error", "storage": "ok"}}
        assert "127.0.0.1" not in ready.text
        got = await broken_db.get("/rpc/system.health")
        assert got.status_code == 503
        assert got.json()["result"]["status"] == "down"
        assert got.json()["result"]["checks"]["database"]["error"] == "database unreachable"
        trpc = await broken_db.get("/trpc/system.health")
        assert trpc.status_code == 503 and trpc_data(trpc)["status"] == "down"
        # JSON-RPC over POST keeps its envelope rule: HTTP 200, the verdict in the body.
        posted = await broken_db.post("/rpc", json=RPC_HEALTH)
        assert posted.status_code == 200 and posted.json()["result"]["status"] == "down"
    changes = [r for r in caplog.records if r.name == "tvms.readiness"]
    assert len(changes) == 1  # several polls, one state: logged once
    assert changes[0].levelno == logging.ERROR
    assert changes[0].fields["failing"] == ["database"]  # type: ignore[attr-defined]
    assert "ConnectionRefusedError" in changes[0].fields["reasons"]["database"]  # type: ignore[attr-defined]


async def test_an_unreachable_s3_endpoint_makes_the_replica_unready_and_logs_why(
    broken_s3: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tvms.readiness"):
        ready = await broken_s3.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "storage": "error"}
        got = await broken_s3.get("/rpc/system.health")
        assert got.status_code == 503
        assert got.json()["result"]["status"] == "degraded"
        assert got.json()["result"]["checks"]["storage"]["error"] == "storage unavailable"
    (change,) = [r for r in caplog.records if r.name == "tvms.readiness"]
    reason = change.fields["reasons"]["storage"]  # type: ignore[attr-defined]
    assert "object storage is unreachable" in reason
    assert "127.0.0.1:1" in reason or "no answer within" in reason  # why: the endpoint, or silence


async def test_a_state_change_is_logged_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    state = {"db_up": True}

    async def ping() -> None:
        if not state["db_up"]:
            raise ConnectionRefusedError("connection refused")

    async def check() -> None:
        return None

    services: Any = SimpleNamespace(db=SimpleNamespace(ping=ping), storage=SimpleNamespace(check=check))
    readiness = Readiness(services.db, services.storage, ttl=0.0)
    with caplog.at_level(logging.INFO, logger="tvms.readiness"):
        for db_up in (True, True, False, False, False, True, True):
            state["db_up"] = db_up
            assert (await readiness.verdict()).ready is db_up
    messages = [r.getMessage() for r in caplog.records if r.name == "tvms.readiness"]
    assert messages == ["not ready: database unavailable", "ready again: the database and storage answer"]


async def test_the_verdict_is_cached_between_polls() -> None:
    probes = {"count": 0}

    async def ping() -> None:
        probes["count"] += 1

    async def check() -> None:
        raise StorageError("object storage is unreachable")

    services: Any = SimpleNamespace(db=SimpleNamespace(ping=ping), storage=SimpleNamespace(check=check))
    readiness = Readiness(services.db, services.storage, ttl=3600.0)
    for _ in range(20):
        assert not (await readiness.verdict()).ready
    assert probes["count"] == 1


async def test_a_probe_that_hangs_counts_as_a_failure() -> None:
    async def ping() -> None:
        import asyncio

        await asyncio.sleep(3600)

    async def check() -> None:
        return None

    services: Any = SimpleNamespace(db=SimpleNamespace(ping=ping), storage=SimpleNamespace(check=check))
    verdict = await Readiness(services.db, services.storage, ttl=0.0, timeout=0.05).verdict()
    assert not verdict.ready and verdict.database.reason == "no answer within 0.05 s"
