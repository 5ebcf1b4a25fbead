"""Scale-out with real parts: three `tvms serve` replicas on one PostgreSQL and one SeaweedFS (S3)
behind HAProxy running deploy/haproxy.cfg, which health-checks `/readyz`. Under a bounded mixed
load (reads, writes, event ingest with idempotency keys, report generation) one replica is
SIGKILLed while it holds a running report, then restarted.

Asserted: no acknowledged write is lost (checked in the database), clients see at most one
failure per request in flight at the kill, the killed replica's report finishes on another
replica, and HAProxy takes the replica out and back in. `/metrics`, scraped through HAProxy all
along, never goes backwards (the calls counter in total and per series), across the kill and
the restart too, and ends counting at least every call a client saw answered. The replicas share
one `PROMETHEUS_MULTIPROC_DIR`, as replicas on one host may: any of them serves the cluster's sum.

PostgreSQL only (replicas on one SQLite file are not a deployment): it runs in CI's PostgreSQL
pass and is reported as skipped, with this reason, on SQLite.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_SERVER
from tests.events.factories import T0, event
from tests.events.test_durability import _register_devices
from tests.production.test_deploy import DEPLOY, haproxy_env
from tests.server import TEST_SECRET_KEY, LiveServer, free_port, live_server
from tests.storage.seaweed import SeaweedS3, seaweedfs
from tvms.clock import iso_ms
from tvms.db import Database, open_database
from tvms.storage.s3 import S3Storage

pytestmark = pytest.mark.skipif(
    not POSTGRES_SERVER,
    reason="scale-out needs PostgreSQL: runs in the PostgreSQL pass (TVMS_TEST_DATABASE_URL)",
)

ADMIN = ("scale@example.com", "Scale-out-Test-2026!")
LEASE_S = 4  # TVMS_REPORT_LEASE_S: how soon the killed replica's report is retried elsewhere
BATCH = 50
CALLS = re.compile(r"^tvms_rpc_calls_total(\{[^}]*\}) (\S+)$", re.MULTILINE)


def calls_by_series(text: str) -> dict[str, float]:
    """`tvms_rpc_calls_total`'s value per label set in one scrape."""
    return {labels: float(value) for labels, value in CALLS.findall(text)}


@dataclass
class Tally:
    ok: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Load:
    base: str
    token: str = ""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tallies: dict[str, Tally] = field(default_factory=dict)
    locations: list[str] = field(default_factory=list)  # acknowledged creates
    reports: list[str] = field(default_factory=list)
    acked: dict[str, dict[str, str]] = field(default_factory=dict)  # sensor → externalId → event id
    unacked: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    scrapes: list[dict[str, float]] = field(default_factory=list)  # calls by series, in order
    scrape_failures: list[tuple[float, str]] = field(default_factory=list)

    async def call(
        self,
        http: httpx.AsyncClient,
        task: str,
        method: str,
        params: Any = None,
        refusals: tuple[str, ...] = (),
        **headers: str,
    ) -> Any:
        """One JSON-RPC call through the load balancer; None (and a tallied failure) if it failed.

        An error answer whose code is in `refusals` (a limit the service enforces) is an answer,
        not a failure, and gives None too."""
        tally = self.tallies.setdefault(task, Tally())
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            body["params"] = params
        try:
            response = await http.post(self.base + "/rpc", json=body, headers=headers)
            answer = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            answer, response = None, None
            tally.failures.append((time.monotonic(), f"{type(exc).__name__}"))
            return None
        if answer is not None and answer.get("error", {}).get("data", {}).get("code") in refusals:
            tally.ok += 1
            return None
        if answer is None or "result" not in answer:
            tally.failures.append((time.monotonic(), f"HTTP {response.status_code}: {response.text[:200]}"))
            return None
        tally.ok += 1
        return answer["result"]

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def reader(self, http: httpx.AsyncClient, name: str) -> None:
        while not self.stop.is_set():
            await self.call(http, name, "sensors.getAll", {"take": 10}, **self.auth())
            await self.call(http, name, "system.getLicense")

    async def writer(self, http: httpx.AsyncClient) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            created = await self.call(
                http,
                "writer",
                "locations.create",
                {
                    "name": f"Scale-out junction {n}",
                    "address": f"Abay avenue {n}",
                    "type": "INTERSECTION",
                    "latitude": 43.2,
                    "longitude": 76.9,
                },
                **self.auth(),
            )
            if created is not None:
                self.locations.append(created["id"])

    async def device(self, http: httpx.AsyncClient, sensor_id: str, key: str, offset: int) -> None:
        acked = self.acked.setdefault(sensor_id, {})
        unacked = self.unacked.setdefault(sensor_id, [])
        n = offset
        while not self.stop.is_set():
            items = [event(i) for i in range(n, n + BATCH)]
            n += BATCH
            if not await self.send(http, sensor_id, key, items, acked):
                unacked.append(items)  # sent again at the end: the external ids make it safe

    async def send(
        self,
        http: httpx.AsyncClient,
        sensor_id: str,
        key: str,
        items: list[dict[str, Any]],
        acked: dict[str, str],
    ) -> bool:
        result = await self.call(
            http, f"device {sensor_id}", "events.ingest", {"events": items}, **{"x-api-key": key}
        )
        if result is None:
            return False
        for receipt in result["receipts"]:
            assert receipt["status"] in ("CREATED", "DUPLICATE"), receipt
            assert acked.setdefault(receipt["externalId"], receipt["id"]) == receipt["id"]
        return True

    async def generate(self, http: httpx.AsyncClient) -> str | None:
        created = await self.call(
            http,
            "reports",
            "reports.generate",
            {
                "type": "EVENTS_EXPORT",
                "format": "JSON",
                "from": iso_ms(T0 - 86_400_000),
                "to": iso_ms(T0 + 40 * 86_400_000),
            },
            ("TOO_MANY_REQUESTS",),  # a user may have 3 reports under way
            **self.auth(),
        )
        if created is None:
            return None
        self.reports.append(created["id"])
        return str(created["id"])

    async def scrape(self, http: httpx.AsyncClient) -> bool:
        """One `/metrics` through the load balancer, kept in `scrapes`; False if it failed."""
        try:
            response = await http.get(self.base + "/metrics")
        except httpx.HTTPError as exc:
            self.scrape_failures.append((time.monotonic(), type(exc).__name__))
            return False
        if response.status_code != 200:
            self.scrape_failures.append((time.monotonic(), f"HTTP {response.status_code}"))
            return False
        self.scrapes.append(calls_by_series(response.text))
        return True

    async def scraper(self, http: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self.scrape(http)
            await asyncio.sleep(0.25)

    async def reporter(self, http: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self.generate(http)
            await asyncio.sleep(1.0)


def backend_states(stats_url: str) -> dict[str, str]:
    """replica name → UP / DOWN / … from HAProxy's CSV stats."""
    try:
        text = httpx.get(stats_url, timeout=5).text.lstrip("# ")
    except httpx.HTTPError:  # HAProxy is still starting
        return {}
    return {
        row["svname"]: row["status"].split()[0]
        for row in csv.DictReader(io.StringIO(text))
        if row["pxname"] == "replicas" and row["svname"] not in ("FRONTEND", "BACKEND")
    }


async def wait_for(condition: Any, limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


HAPROXY_LOG: list[Path] = []


def haproxy_log_tail() -> str:
    """HAProxy's state changes and every request it did not answer with 200 (for a failure message)."""
    if not HAPROXY_LOG:
        return ""
    lines = HAPROXY_LOG[-1].read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if " 200 " not in line)[-6000:]


@contextmanager
def haproxy(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("haproxy")
    assert binary, "haproxy is missing: .ci/run installs it (apt-get install -y haproxy)"
    HAPROXY_LOG.append(log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-db", "-f", str(DEPLOY / "haproxy.cfg")],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def create_admin(env: dict[str, str]) -> None:
    email, password = ADMIN
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tvms",
            "create-user",
            "--email",
            email,
            "--role",
            "ADMIN",
            "--first-name",
            "Scale",
            "--last-name",
            "Out",
            "--password-stdin",
        ],
        input=password + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def create_bucket(s3: SeaweedS3) -> None:
    storage = S3Storage(s3.bucket, endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key)
    try:
        await storage.create_bucket()
    finally:
        await storage.close()


async def test_three_replicas_behind_haproxy_lose_nothing_when_one_is_killed(
    tmp_path: Path, database_url: str
) -> None:
    with ExitStack() as stack:
        s3 = stack.enter_context(seaweedfs(tmp_path / "s3"))
        await create_bucket(s3)
        metrics_dir = tmp_path / "metrics"
        metrics_dir.mkdir()
        common = {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "TVMS_DATABASE_URL": database_url,
            "TVMS_STORAGE_URL": s3.storage_url(),
            **s3.environment(),
            "TVMS_SECRET_KEY": TEST_SECRET_KEY,
            "TVMS_LOG_LEVEL": "warning",
            "TVMS_BCRYPT_ROUNDS": "4",
            "TVMS_REPORT_LEASE_S": str(LEASE_S),
        }
        await asyncio.to_thread(create_admin, {**common, "TVMS_DATA_DIR": str(tmp_path / "cli")})
        devices = await _register_devices(database_url)
        replicas: list[LiveServer] = []
        for n in range(3):
            env = {**common, "TVMS_DATA_DIR": str(tmp_path / f"replica{n + 1}")}
            replicas.append(
                stack.enter_context(
                    live_server(env, tmp_path / f"replica{n + 1}.log", port=free_port(), timeout=60)
                )
            )
        lb, stats = free_port(), free_port()
        stack.enter_context(
            haproxy(
                haproxy_env(
                    f"127.0.0.1:{lb}", f"127.0.0.1:{stats}", [r.url.removeprefix("http://") for r in replicas]
                ),
                tmp_path / "haproxy.log",
            )
        )
        stats_url = f"http://127.0.0.1:{stats}/stats;csv"
        await wait_for(lambda: set(backend_states(stats_url).values()) == {"UP"}, 20, "all replicas UP")

        db = await open_database(database_url)
        try:
            await scenario(db, devices, replicas, f"http://127.0.0.1:{lb}", stats_url, s3)
        finally:
            await db.close()


async def scenario(
    db: Database,
    devices: list[tuple[str, str]],
    replicas: list[LiveServer],
    base: str,
    stats_url: str,
    s3: SeaweedS3,
) -> None:
    load = Load(base)
    async with httpx.AsyncClient(timeout=15) as http:
        login = await load.call(http, "login", "auth.login", {"email": ADMIN[0], "password": ADMIN[1]})
        assert login is not None, load.tallies
        load.token = login["token"]
        tasks = [
            asyncio.create_task(load.reader(http, "reader 1")),
            asyncio.create_task(load.reader(http, "reader 2")),
            asyncio.create_task(load.writer(http)),
            asyncio.create_task(load.reporter(http)),
            asyncio.create_task(load.scraper(http)),
            *(
                asyncio.create_task(load.device(http, sensor_id, key, n * 1_000_000))
                for n, (sensor_id, key) in enumerate(devices)
            ),
        ]
        await asyncio.sleep(6)  # warm: every kind of call has run on every replica
        assert all(t.ok > 0 for t in load.tallies.values()), load.tallies
        scraped_before_kill = len(load.scrapes)
        assert scraped_before_kill > 0, load.scrape_failures

        # Kill the victim while it holds a running report, so that report must move. The report
        # worker runs in one replica of the cluster (the holder of the periodic-work lock): that
        # replica is the victim.
        pids = {replica.process.pid: index for index, replica in enumerate(replicas)}
        held: list[str] = []
        deadline = time.monotonic() + 30
        while not held:
            assert time.monotonic() < deadline, "no replica ever held a running report"
            await load.generate(http)
            await asyncio.sleep(0.05)
            rows = await db.fetch("SELECT id, lease_owner FROM reports WHERE status = 'RUNNING'", {})
            owners = {int(row["lease_owner"].split(":")[-2]): row["id"] for row in rows if row["lease_owner"]}
            index = next((pids[pid] for pid in owners if pid in pids), None)
            if index is not None:
                victim = replicas[index]
                held = [owners[victim.process.pid]]
        name = f"replica{index + 1}"
        killed_at = time.monotonic()
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()

        await wait_for(lambda: backend_states(stats_url).get(name) == "DOWN", 15, f"{name} DOWN")
        await asyncio.sleep(3)  # load continues on two replicas
        await asyncio.to_thread(victim.start)  # same port, same environment
        await wait_for(lambda: backend_states(stats_url).get(name) == "UP", 15, f"{name} back UP")
        await asyncio.sleep(2)
        load.stop.set()
        await asyncio.gather(*tasks)

        # What failed: at most the requests in flight on the victim when it died (each
        # client task has one request at a time), all of them at the kill.
        failures = [
            (task, round(at - killed_at, 2), why)
            for task, t in load.tallies.items()
            for at, why in t.failures
        ]
        report = f"failures (task, s after the kill, why): {failures}\nHAProxy: {haproxy_log_tail()}"
        assert len(failures) <= len(tasks) - 1, report  # the scraper's failures are apart
        assert all(after < 5 for _, after, _ in failures), report
        assert len({task for task, _, _ in failures}) == len(failures), report  # once per task

        # Devices send again what was never acknowledged; the external ids dedupe.
        for sensor_id, key in devices:
            for items in load.unacked[sensor_id]:
                assert await load.send(http, sensor_id, key, items, load.acked[sensor_id])

        # The metrics, scraped through HAProxy, never went backwards (the kill and the restart
        # included), and count at least every call a client saw answered.
        assert await load.scrape(http), load.scrape_failures
        assert len(load.scrapes) > scraped_before_kill + 4, "too few scrapes after the kill"
        lost = [(round(at - killed_at, 2), why) for at, why in load.scrape_failures]
        scrape_report = f"scrape failures (s after the kill, why): {lost}"
        assert len(load.scrape_failures) <= 1, scrape_report  # the one in flight at the kill
        assert all(at - killed_at < 5 for at, _ in load.scrape_failures), scrape_report
        for number, (before, after) in enumerate(zip(load.scrapes, load.scrapes[1:], strict=False)):
            assert sum(after.values()) >= sum(before.values()), f"scrape {number + 1}: total went back"
            for series, value in before.items():
                assert after.get(series, 0.0) >= value, f"scrape {number + 1}: {series} went back"
        answered = sum(t.ok for t in load.tallies.values())
        assert sum(load.scrapes[-1].values()) >= answered, (sum(load.scrapes[-1].values()), answered)

        # No acknowledged write lost.
        stored = {row["id"] for row in await db.fetch("SELECT id FROM locations")}
        assert set(load.locations) <= stored and len(load.locations) > 10
        for sensor_id, _ in devices:
            rows = await db.fetch("SELECT id, external_id FROM events WHERE sensor_id = :s", {"s": sensor_id})
            by_external = {row["external_id"]: row["id"] for row in rows}
            assert len(by_external) == len(rows)  # exactly once
            assert by_external == load.acked[sensor_id]

        # Every report finishes, the killed replica's on another replica, after its lease.
        async def all_done() -> list[Any]:
            return await db.fetch(
                "SELECT id, status, attempts, file_key FROM reports WHERE status <> 'READY'"
            )

        deadline = time.monotonic() + 60
        while await all_done():
            assert time.monotonic() < deadline, await all_done()
            await asyncio.sleep(0.5)
        storage = S3Storage(
            s3.bucket, endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key
        )
        try:
            for report_id in held:
                row = await db.fetchrow(
                    "SELECT status, attempts, lease_owner, file_key FROM reports WHERE id = :id",
                    {"id": report_id},
                )
                assert row["status"] == "READY" and row["attempts"] >= 2 and row["lease_owner"] is None
                assert (await storage.stat(row["file_key"])).size > 0
        finally:
            await storage.close()
        assert len(load.reports) >= 3
