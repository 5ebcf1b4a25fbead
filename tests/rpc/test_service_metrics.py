"""The service metrics beyond calls: sign-in failures and lockouts, storage errors, the database
pool, and the cluster-wide report queue and sensors by status read at scrape time."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette

from procedures import api
from tests import support
from tests.auth.support import PASSWORD, config, make_user
from tests.support import as_role, asgi_client, error, result, running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.rpc import Services
from tvms.rpc.metrics import exposition, forget_dead_processes
from tvms.rpc.service_metrics import cluster_families

__all__ = ["config"]  # bcrypt cost 4 for the sign-ins here

OPERATOR = as_role("OPERATOR", "op-1")
WRONG = "Wrong#pass1"
_SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


@pytest.fixture
def test_api() -> Api:
    """The real API without its periodic work: a queued report stays queued."""
    return dataclasses.replace(api(), resolver=support.test_resolver, hooks=())


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value for every sample of a scrape."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


async def scrape(client: httpx.AsyncClient) -> dict[str, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


async def test_failed_logins_and_the_lockout_are_counted(app: Starlette, client: httpx.AsyncClient) -> None:
    await make_user(app, "count@example.com")
    failures = 'tvms_login_failures_total{factor="password"}'
    lockouts = 'tvms_login_lockouts_total{factor="password"}'
    before = await scrape(client)
    for factor in ("password", "mfa"):  # every series is there from the start, at 0
        assert before[f'tvms_login_failures_total{{factor="{factor}"}}'] == 0
        assert before[f'tvms_login_lockouts_total{{factor="{factor}"}}'] == 0
    assert before['tvms_storage_errors_total{operation="put"}'] == 0
    for _ in range(4):  # security.maxLoginAttempts = 5
        assert (await error(client, "auth.login", {"email": "count@example.com", "password": WRONG}))[
            "code"
        ] == -32001
    after = await scrape(client)
    assert after[failures] - before.get(failures, 0) == 4
    assert after.get(lockouts, 0) == before.get(lockouts, 0)
    await error(client, "auth.login", {"email": "count@example.com", "password": WRONG})  # the 5th locks
    locked = await scrape(client)
    assert locked[failures] - before.get(failures, 0) == 5
    assert locked[lockouts] - before.get(lockouts, 0) == 1
    # Refused while locked: no password is checked, so neither counter moves.
    refused = await error(client, "auth.login", {"email": "count@example.com", "password": PASSWORD})
    assert refused["data"]["code"] == "TOO_MANY_REQUESTS"
    still = await scrape(client)
    assert (still[failures], still[lockouts]) == (locked[failures], locked[lockouts])


async def test_a_queued_report_shows_in_the_queue_depth_and_its_age(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    empty = await scrape(client)
    assert empty["tvms_report_queue_depth"] == 0
    assert empty["tvms_report_queue_oldest_age_seconds"] == 0
    assert empty["tvms_cluster_metrics_up"] == 1
    params = {
        "type": "SENSOR_UPTIME",
        "format": "CSV",
        "from": "2023-11-01T00:00:00Z",
        "to": "2023-11-02T00:00:00Z",
    }
    first = await result(client, "reports.generate", params, headers=OPERATOR)
    clock.advance(90)
    await result(client, "reports.generate", params, headers=OPERATOR)
    clock.advance(30)
    queued = await scrape(client)
    assert queued["tvms_report_queue_depth"] == 2
    assert queued["tvms_report_queue_oldest_age_seconds"] == 120  # the first one's age
    await result(client, "reports.delete", {"id": first["id"]}, headers=OPERATOR)
    left = await scrape(client)
    assert left["tvms_report_queue_depth"] == 1
    assert left["tvms_report_queue_oldest_age_seconds"] == 30


async def test_sensors_by_status_match_sensors_get_all(client: httpx.AsyncClient) -> None:
    statuses = ["ONLINE", "ONLINE", "OFFLINE", "MAINTENANCE", "ERROR", "ONLINE"]
    created = []
    for n, status in enumerate(statuses):
        params = {"name": f"Metric {n}", "deviceId": f"MET-{n:03d}", "type": "CAMERA", "status": status}
        created.append(await result(client, "sensors.create", params, headers=OPERATOR))
    await result(client, "sensors.delete", {"id": created[-1]["id"]}, headers=OPERATOR)  # not counted
    metrics = await scrape(client)
    for status in ("ONLINE", "OFFLINE", "MAINTENANCE", "ERROR"):
        page = await result(client, "sensors.getAll", {"status": status, "take": 1}, headers=OPERATOR)
        assert metrics[f'tvms_sensors{{status="{status}"}}'] == page["total"], status
    assert metrics['tvms_sensors{status="ONLINE"}'] == 2


async def test_pool_gauges_are_present_and_sane(app: Starlette, client: httpx.AsyncClient) -> None:
    await result(client, "sensors.getAll", {}, headers=OPERATOR)  # at least one connection opened
    metrics = await scrape(client)
    in_use, opened, most = (
        metrics[f'tvms_db_pool_connections{{state="{s}"}}'] for s in ("in_use", "open", "max")
    )
    db = app.state.services.db
    assert most == (10 if db.engine == "postgresql" else 4 + 3)  # the defaults (SQLite: readers + 3)
    assert 1 <= opened <= most
    assert 0 <= in_use <= opened
    async with db.transaction() as tx:  # a transaction holds a connection: in use while it is open
        await tx.fetchval("SELECT 1")
        assert db.pool_stats().in_use >= 1
        services: Services = app.state.services
        services.metrics.sample_pool(db)
        held = samples(exposition(services.metrics.registry).decode())
        assert held['tvms_db_pool_connections{state="in_use"}'] >= 1
    assert db.pool_stats().in_use == 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def unreachable_store(
    tmp_path: Path, database_url: str, test_api: Api, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    url = f"s3://evidence?endpoint=http://127.0.0.1:{_closed_port()}"
    config = Config(data_dir=tmp_path, database_url=database_url, storage_url=url)
    async with running_app(config, test_api, clock) as app, asgi_client(app) as client:
        yield app, client


async def test_a_failing_store_counts_storage_errors_by_operation(
    unreachable_store: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = unreachable_store
    before = await scrape(client)
    assert (await client.get("/readyz")).status_code == 503  # its storage probe fails
    with pytest.raises(Exception, match="unreachable"):
        await app.state.services.storage.put("evidence/a.jpg", b"jpeg", "image/jpeg")
    after = await scrape(client)
    for operation in ("check", "put"):
        series = f'tvms_storage_errors_total{{operation="{operation}"}}'
        assert after[series] - before.get(series, 0) == 1, operation


async def test_a_slow_or_failing_database_leaves_the_cluster_metrics_out(app: Starlette) -> None:
    services: Services = app.state.services

    async def hangs(services: Services) -> Iterable[Metric]:
        await asyncio.Event().wait()
        return []

    async def fails(services: Services) -> Iterable[Metric]:
        raise RuntimeError("database down")

    async def answers(services: Services) -> Iterable[Metric]:
        return [GaugeMetricFamily("tvms_answer", "An answer.", value=42)]

    for scrapes in ((answers, hangs), (fails,)):
        text = exposition(await cluster_families(scrapes, services, limit_s=0.05)).decode()
        assert samples(text) == {"tvms_cluster_metrics_up": 0}
    text = exposition(await cluster_families((answers,), services)).decode()
    assert samples(text) == {"tvms_answer": 42, "tvms_cluster_metrics_up": 1}


_WORKER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from tvms.rpc.metrics import Metrics
    from tvms.rpc.service_metrics import ServiceMetrics

    metrics = ServiceMetrics(Metrics(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])).registry)
    failures = int(sys.argv[1])
    for _ in range(failures):
        metrics.login_failed("password")
    metrics.storage_failed("put")
    metrics.db_pool.labels("open").set(failures)
    print("ready", flush=True)
    sys.stdin.read()  # alive (its pool gauge with it) until the test closes stdin
    """
)


def _render(directory: Path) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return samples(exposition(registry).decode())


def test_two_processes_sharing_the_directory_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(n)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (2, 3)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        both = _render(tmp_path)
        assert both['tvms_login_failures_total{factor="password"}'] == 5
        assert both['tvms_storage_errors_total{operation="put"}'] == 2
        pools = {key: value for key, value in both.items() if key.startswith("tvms_db_pool_connections")}
        assert pools == {
            f'tvms_db_pool_connections{{pid="{worker.pid}",state="open"}}': n
            for worker, n in zip(workers, (2, 3), strict=True)
        }
        first = workers[0]
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=30)
        forget_dead_processes(tmp_path)
        one = _render(tmp_path)
        assert one['tvms_login_failures_total{factor="password"}'] == 5  # a dead worker's counts stay
        pools = {key: value for key, value in one.items() if key.startswith("tvms_db_pool_connections")}
        assert pools == {f'tvms_db_pool_connections{{pid="{workers[1].pid}",state="open"}}': 3}
    finally:
        for worker in workers:
            if worker.stdin is not None and not worker.stdin.closed:
                worker.stdin.close()
            worker.wait(timeout=30)
            if worker.stdout is not None:
                worker.stdout.close()
