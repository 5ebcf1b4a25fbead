"""`tvms simulate` as a real process against a real server: it finds the devices, runs them as
agents, and every event it reports acknowledged is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from tvms_client import models

from tests.events.conftest import add_location, add_sensor
from tests.server import ROOT, live_server
from tvms.clock import Clock
from tvms.db import open_database
from tvms.edge.simulate import plan_sites
from tvms.seeding.seed import seed_demo


async def small_city(database_url: str) -> None:
    """The demo administrator, a gateway with two cameras and an NVR, and a stand-alone ANPR."""
    db = await open_database(database_url)
    try:
        await seed_demo(db, Clock(), rounds=4)
        await add_location(db, "sim-loc")
        await add_sensor(db, "sim-gw", type="EDGE_CONTROLLER", location="sim-loc")
        for child, kind in (("sim-cam-1", "CAMERA"), ("sim-cam-2", "CAMERA"), ("sim-nvr", "NVR")):
            await add_sensor(db, child, type=kind, parent="sim-gw", location="sim-loc")
        await add_sensor(db, "sim-anpr", type="ANPR", location="sim-loc")
    finally:
        await db.close()


def _simulate(server_url: str, env: dict[str, str], outboxes: Path, seconds: int) -> tuple[int, ...]:
    """One `tvms simulate` run; its summary's events generated, acknowledged, queued, dropped."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tvms",
            "simulate",
            "--url",
            server_url,
            "--duration",
            str(seconds),
            "--rate",
            "600",
            "--violations",
            "0.3",
            "--outages",
            "0",
            "--heartbeat",
            "2",
            "--dir",
            str(outboxes),
            "--seed",
            "3",
        ],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 agents against" in run.stderr
    summary = re.search(
        r"events generated (\d+), acknowledged (\d+), queued (\d+), dropped (\d+)", run.stdout
    )
    assert summary is not None, run.stdout
    return tuple(map(int, summary.groups()))


def test_simulate_runs_the_city(tmp_path: Path, database_url: str) -> None:
    asyncio.run(small_city(database_url))
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "WARNING",
    }
    with live_server(env, tmp_path / "server.log", timeout=60) as server:
        generated, acknowledged, queued, dropped = _simulate(server.url, env, tmp_path / "sim", 8)
        assert generated > 0 and dropped == 0 and generated == acknowledged + queued
        asyncio.run(_check(database_url, acknowledged))
        # A second run on the same outboxes reports its own counts, not the sum since the first.
        again, acknowledged_again, queued_again, _ = _simulate(server.url, env, tmp_path / "sim", 4)
        assert again > 0 and queued + again == acknowledged_again + queued_again
        asyncio.run(_check(database_url, acknowledged + acknowledged_again))


async def _check(database_url: str, acknowledged: int) -> None:
    db = await open_database(database_url)
    try:
        rows = await db.fetch("SELECT sensor_id, external_id FROM events")
        assert len(rows) == len({(r["sensor_id"], r["external_id"]) for r in rows}) == acknowledged
        assert {r["sensor_id"] for r in rows} <= {"sim-cam-1", "sim-cam-2", "sim-anpr"}
        beats = await db.fetch("SELECT id FROM sensors WHERE last_heartbeat_at IS NULL")
        assert beats == []  # every device was heard from, children through their gateway
    finally:
        await db.close()


def test_sites_group_children_under_their_gateway() -> None:
    def sensor(
        sensor_id: str, kind: str, parent: str | None = None, status: str = "ONLINE"
    ) -> models.MapSensor:
        return models.MapSensor(
            id=sensor_id,
            name=sensor_id,
            device_id=f"D-{sensor_id}",
            type=kind,
            status=status,
            ip_address=None,
            coordinates=None,
            location_id=None,
            parent_sensor_id=parent,
            last_heartbeat=None,
            location=None,
        )

    sensors = [
        sensor("cam", "CAMERA", "gw"),
        sensor("gw", "EDGE_CONTROLLER"),
        sensor("nvr", "NVR", "gw"),
        sensor("radar", "RADAR"),
        sensor("fixing", "ANPR", status="MAINTENANCE"),
        sensor("orphan", "CAMERA"),
    ]
    sites = plan_sites(sensors, 0)
    assert [(s.sensor.id, [c.id for c in s.children]) for s in sites] == [
        ("gw", ["cam", "nvr"]),
        ("radar", []),
    ]
    assert [s.sensor.id for s in plan_sites(sensors, 1)] == ["gw"]
