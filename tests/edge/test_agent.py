"""The agent as real processes: a `tvms serve` SIGKILLed and restarted mid-stream, then the agent
itself SIGKILLed and restarted. Afterwards every event the agent generated is acknowledged and
stored exactly once (checked in the database), with its evidence, and nothing was dropped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from procedures.sensors.keys import hash_key, new_key
from tests.server import ROOT, live_server
from tvms.db import open_database
from tvms.ids import new_id

EVENTS = 300
CHILDREN = [("agent-cam-1", "CAMERA"), ("agent-cam-2", "CAMERA"), ("agent-nvr-1", "NVR")]


async def register_site(database_url: str) -> str:
    """Gateway agent-gw with two cameras and an NVR; returns the gateway's device key."""
    db = await open_database(database_url)
    key, prefix = new_key()
    try:
        for sensor_id, kind, parent in [("agent-gw", "EDGE_CONTROLLER", None)] + [
            (child, kind, "agent-gw") for child, kind in CHILDREN
        ]:
            await db.execute(
                "INSERT INTO sensors (id, name, device_id, type, status, parent_sensor_id, created_at,"
                " updated_at) VALUES (:id, :id, :id, :type, 'OFFLINE', :parent, 0, 0)",
                {"id": sensor_id, "type": kind, "parent": parent},
            )
        await db.execute(
            "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at)"
            " VALUES (:id, 'agent-gw', :prefix, :hash, 0)",
            {"id": new_id(), "prefix": prefix, "hash": hash_key(key)},
        )
    finally:
        await db.close()
    return key


def write_config(path: Path, server: str, key: str) -> None:
    children = "".join(f'\n[[children]]\ndevice_id = "{d}"\ntype = "{t}"\n' for d, t in CHILDREN)
    path.write_text(
        f'server = "{server}"\nkey = "{key}"\nqueue = "gw.queue.db"\nheartbeat_s = 1\nmetrics_s = 1\n'
        f"batch = 20\npoll_wait_s = 5\n{children}\n"
        "[traffic]\nevents_per_minute = 6000\nrush_hours = false\nviolation_rate = 0.2\n"
        f"max_events = {EVENTS}\nseed = 7\n"
    )


def stats(queue: Path) -> dict[str, int]:
    """The agent's counters, read from its outbox file (as the agent's status line shows them)."""
    if not queue.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{queue}?mode=ro", uri=True, timeout=10)) as db:
        try:
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
            counters["queued"] = db.execute("SELECT COUNT(*) FROM outbox WHERE event_id IS NULL").fetchone()[
                0
            ]
            counters["awaitingEvidence"] = db.execute("SELECT COUNT(event_id) FROM outbox").fetchone()[0]
        except sqlite3.OperationalError:  # the agent is still creating the file
            return {}
    return counters


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tvms", "agent", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def wait_until(check: Callable[[], bool], what: str, logs: list[Path], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tails = "\n".join(log.read_text(errors="replace")[-3000:] for log in logs if log.exists())
            raise AssertionError(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.1)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def test_nothing_is_lost_or_doubled_across_sigkills(tmp_path: Path, database_url: str) -> None:
    key = asyncio.run(register_site(database_url))
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "WARNING",
    }
    config, queue = tmp_path / "agent" / "gw.toml", tmp_path / "agent" / "gw.queue.db"
    config.parent.mkdir()
    agent_log, server_log = tmp_path / "agent.log", tmp_path / "server.log"
    logs = [agent_log, server_log]
    with live_server(env, server_log, timeout=60) as server:
        write_config(config, server.url, key)
        agent = start_agent(config, agent_log)
        try:
            wait_until(lambda: stats(queue).get("acknowledged", 0) >= 60, "a first part acknowledged", logs)
            kill(server.process)
            # The agent keeps accepting events while the server is away.
            before = stats(queue).get("generated", 0)
            wait_until(lambda: stats(queue).get("generated", 0) >= before + 40, "events queued offline", logs)
            assert stats(queue)["queued"] >= 40
            server.start()
            wait_until(lambda: stats(queue)["acknowledged"] >= 180, "the queue flowing again", logs)
            kill(agent)
            assert stats(queue)["acknowledged"] < EVENTS  # the agent died with work left to do
            agent = start_agent(config, agent_log)
            wait_until(
                lambda: (
                    (s := stats(queue))["generated"] == EVENTS
                    and s["queued"] == 0
                    and not s["awaitingEvidence"]
                ),
                "everything delivered",
                logs,
            )
        finally:
            agent.terminate()
            agent.wait(timeout=30)
    final = stats(queue)
    assert final["acknowledged"] == final["generated"] == EVENTS
    assert final["dropped"] == final["rejected"] == final["evidenceDropped"] == 0
    assert final["evidenceUploaded"] == final["evidenceGenerated"] > 0
    asyncio.run(_check_database(database_url, final))


async def _check_database(database_url: str, final: dict[str, int]) -> None:
    db = await open_database(database_url)
    try:
        rows = await db.fetch("SELECT sensor_id, external_id, is_violation FROM events")
        keys = [(row["sensor_id"], row["external_id"]) for row in rows]
        assert len(keys) == len(set(keys)) == EVENTS  # stored exactly once
        numbers = sorted(int(external_id.rsplit("-", 1)[1]) for _, external_id in keys)
        assert numbers == list(range(1, EVENTS + 1))  # every generated key, none missing
        assert {sensor for sensor, _ in keys} <= {"agent-cam-1", "agent-cam-2"}
        violations = sum(1 for row in rows if row["is_violation"])
        verified = await db.fetchval("SELECT COUNT(*) FROM evidence WHERE state = 'VERIFIED'")
        assert verified == violations == final["evidenceGenerated"]
        beats = await db.fetch("SELECT id, status, last_heartbeat_at FROM sensors ORDER BY id")
        assert all(row["last_heartbeat_at"] is not None for row in beats), beats
        sampled = await db.fetch("SELECT DISTINCT sensor_id FROM device_metrics ORDER BY sensor_id")
        assert [row["sensor_id"] for row in sampled] == sorted(["agent-gw", *(c for c, _ in CHILDREN)])
    finally:
        await db.close()
