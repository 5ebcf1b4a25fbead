"""The demo generator: realistic, valid rows, progress reported, sensors created when absent."""

from __future__ import annotations

import io

from procedures.demo_events import progress_bar, seed_demo_events
from procedures.events.schemas import EVENT_TYPES, NOT_VIOLATIONS, normalize_plate
from tvms.db import Database


async def test_seed_demo_events(sensors: Database) -> None:
    seen: list[tuple[int, int]] = []
    now = 1_700_000_000_000
    done = await seed_demo_events(
        sensors, 2500, now_ms=now, progress=lambda d, t: seen.append((d, t)), seed=1
    )
    assert done == 2500
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
    rows = await sensors.fetch(
        "SELECT type, plate, occurred_at, is_violation, review_status, sensor_id, speed_kmh FROM events"
    )
    assert len(rows) == 2500
    assert {r["type"] for r in rows} <= set(EVENT_TYPES)
    assert all(now - 8 * 86_400_000 <= r["occurred_at"] <= now for r in rows)
    violations = [r for r in rows if r["is_violation"]]
    assert 0.04 < len(violations) / len(rows) < 0.15
    assert all(r["review_status"] in ("PENDING", "CONFIRMED", "REJECTED") for r in violations)
    assert all((r["type"] in NOT_VIOLATIONS) == (not r["is_violation"]) for r in rows)
    assert all(normalize_plate(r["plate"]) == r["plate"] for r in rows if r["plate"])
    assert "gw-1" not in {r["sensor_id"] for r in rows}  # gateways do not read plates
    # the daily curve: rush hours (local 08-09, 17-18) busier than the small hours (02-03)
    hours = [((r["occurred_at"] // 3_600_000) + 5) % 24 for r in rows]
    assert hours.count(8) + hours.count(18) > 4 * (hours.count(2) + hours.count(3))


async def test_demo_creates_sensors_when_there_are_none(app: object) -> None:
    from tests.events.conftest import db_of

    db = db_of(app)  # type: ignore[arg-type]
    await seed_demo_events(db, 10, now_ms=1_700_000_000_000, seed=2)
    assert await db.fetchval("SELECT COUNT(*) FROM sensors WHERE id LIKE 'demo-sensor-%'") == 8
    assert await db.fetchval("SELECT COUNT(*) FROM events") == 10


def test_progress_bar() -> None:
    out = io.StringIO()
    bar = progress_bar(stream=out, width=10)
    bar(5, 10)
    bar(10, 10)
    assert out.getvalue() == "\r[#####.....]  50% 5/10 events\r[##########] 100% 10/10 events\n"
