"""The demo generator: realistic, valid rows, progress reported, sensors created when absent."""

from __future__ import annotations

import io

from procedures.events.schemas import EVENT_TYPES, NOT_VIOLATIONS, normalize_plate
from tvms.db import Database
from tvms.seeding.demo_events import progress_bar, seed_demo_events


async def test_seed_demo_events(sensors: Database) -> None:
    seen: list[tuple[int, int]] = []
    now = 1_700_000_000_000
    done = await seed_demo_events(
        sensors,
        2500,
        now_ms=now,
        progress=lambda d, t: seen.append((d, t)),
        seed=1,
        batch_size=2000,
        chunk_size=800,
    )
    assert done == 2500
    # chunks of 800 within transactions of 2,000 rows
    assert seen == [(800, 2500), (1600, 2500), (2000, 2500), (2500, 2500)]
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
    now = 1_700_000_000_000
    await seed_demo_events(db, 10, now_ms=now, seed=2)
    assert await db.fetchval("SELECT COUNT(*) FROM sensors WHERE id LIKE 'demo-sensor-%'") == 8
    assert await db.fetchval("SELECT COUNT(*) FROM events") == 10
    # installed before the first event, with a status history that says so
    first_event = await db.fetchval("SELECT MIN(occurred_at) FROM events")
    installed = await db.fetchval("SELECT MAX(created_at) FROM sensors WHERE id LIKE 'demo-sensor-%'")
    assert installed < first_event
    changes = await db.fetchval(
        "SELECT COUNT(*) FROM sensor_status_changes WHERE sensor_id LIKE 'demo-sensor-%'"
    )
    assert changes == 8


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_shows_rate_and_time_left() -> None:
    out, clock = _Terminal(), _Clock()
    bar = progress_bar(stream=out, width=10, clock=clock)
    clock.now += 2.0
    bar(5_000, 10_000)
    clock.now += 2.0
    bar(10_000, 10_000)
    assert out.getvalue() == (
        "\r[#####.....]  50% 5,000/10,000 events  2,500/s  2 s left"
        "\r[##########] 100% 10,000/10,000 events  2,500/s  0 s left\n"
    )


def test_progress_elsewhere_is_one_summary_line() -> None:
    out, clock = io.StringIO(), _Clock()
    bar = progress_bar("events", stream=out, clock=clock)
    for done in range(1_000, 200_001, 1_000):
        clock.now += 0.5
        bar(done, 200_000)
    assert out.getvalue() == "200,000 events in 100.0 s (2,000/s)\n"
