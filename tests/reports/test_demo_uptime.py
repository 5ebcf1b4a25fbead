"""The demo city tells the truth: its sensors exist over every demo event's time, with status
histories that make `reports.getSensorUptime` and report coverage meaningful."""

from __future__ import annotations

import httpx

from tests.reports.conftest import NOW
from tests.support import as_role, result
from tvms.clock import iso_ms
from tvms.db import Database
from tvms.seeding.demo_city import DAY_MS, HISTORY_DAYS, seed_demo_city
from tvms.seeding.demo_events import seed_demo_events

VIEWER = as_role("VIEWER")


async def test_uptime_over_the_demo_week_is_measured_for_every_sensor(
    client: httpx.AsyncClient, db: Database
) -> None:
    await seed_demo_city(db, NOW)
    await seed_demo_events(db, 500, now_ms=NOW, seed=3)
    first_event = await db.fetchval("SELECT MIN(occurred_at) FROM events")
    last_install = await db.fetchval("SELECT MAX(created_at) FROM sensors")
    assert last_install == NOW - HISTORY_DAYS * DAY_MS < first_event
    week = {"from": iso_ms(NOW - 7 * DAY_MS), "to": iso_ms(NOW - 1)}
    uptime = await result(client, "reports.getSensorUptime", week, headers=VIEWER)
    shares = [sensor["uptime"] for sensor in uptime["sensors"]]
    detecting = await db.fetchval("SELECT COUNT(*) FROM sensors WHERE type NOT IN ('EDGE_CONTROLLER', 'NVR')")
    assert len(shares) == detecting > 300 and None not in shares  # no "n/a": all were there all week
    assert 0.7 < uptime["uptime"] < 1.0  # mostly online, with the outages of a real network
    assert any(share < 1.0 for share in shares) and any(share == 1.0 for share in shares)
    assert sum(sensor["statusChanges"] for sensor in uptime["sensors"]) > 50
    stats = await result(client, "reports.getViolationStats", {**week, "groupBy": "day"}, headers=VIEWER)
    assert stats["total"] > 0 and all(bucket["coverage"] is not None for bucket in stats["buckets"])


async def test_histories_end_in_each_sensor_current_status(db: Database) -> None:
    await seed_demo_city(db, NOW)
    rows = await db.fetch(
        "SELECT s.id, s.status, c.to_status FROM sensors s JOIN sensor_status_changes c ON c.sensor_id = s.id"
        " WHERE c.at = (SELECT MAX(at) FROM sensor_status_changes WHERE sensor_id = s.id)"
    )
    assert len(rows) == 456
    assert all(row["status"] == row["to_status"] for row in rows)
    silent = await db.fetchval(
        "SELECT COUNT(*) FROM sensors WHERE status = 'OFFLINE' AND last_heartbeat_at IS NULL"
    )
    assert silent == 0  # an offline sensor was heard from before it went silent
