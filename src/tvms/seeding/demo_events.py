"""Demo traffic for `tvms seed --demo --events N`: plates, speeds, a daily curve, some violations.

Events are spread over the last 7 days with rush-hour peaks (08:00 and 18:00, Almaty time), on
the live sensors (demo locations and sensors are created when there are none, installed before
the first event). Written through the same INSERT as `events.ingest`, in large transactions:
the events table has many indexes on random keys, so every commit rewrites a share of their
pages; 1,000-row commits wrote 10.4 GB for a 157 MB database (200,000 events), 50,000-row ones
with a page cache to match write about a tenth of that. `progress(done, total)` after each chunk.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from procedures.events.ingest import INSERT
from procedures.events.schemas import NOT_VIOLATIONS
from tvms.db import Database
from tvms.ids import new_id
from tvms.seeding.demo_city import DAY_MS, HISTORY_DAYS

Progress = Callable[[int, int], None]

BATCH_ROWS = 50_000  # one transaction
CHUNK_ROWS = 5_000  # one executemany, then a progress report
CACHE_KIB = 256 * 1024  # SQLite page cache while seeding: a batch's dirty pages are written once
LOCAL_OFFSET_MS = 5 * 3_600_000  # Asia/Almaty is UTC+5 all year (no DST)
# Relative traffic per local hour: quiet nights, morning and evening peaks.
HOURLY = (1, 0.6, 0.4, 0.4, 0.6, 1.5, 4, 8, 10, 7, 5.5, 5.5, 6, 6, 5.5, 6, 7.5, 9, 10, 7, 5, 3.5, 2.5, 1.5)
TYPES = (  # (type, weight): mostly plate reads and counts, ~8 % violations, rare incidents
    ("ANPR_READ", 70),
    ("TRAFFIC_COUNT", 15),
    ("SPEEDING", 4.5),
    ("RED_LIGHT", 1.5),
    ("LANE_VIOLATION", 0.8),
    ("NO_SEATBELT", 0.5),
    ("MOBILE_PHONE", 0.4),
    ("ILLEGAL_PARKING", 0.3),
    ("WRONG_WAY", 0.1),
    ("CONGESTION", 1.0),
    ("STOPPED_VEHICLE", 0.3),
    ("ACCIDENT", 0.05),
    ("CAMERA_TAMPER", 0.02),
)
CLASSES = (("car", 78), ("truck", 8), ("bus", 4), ("van", 7), ("motorcycle", 3))
LETTERS = "ABCEHKMOPTXY"  # letters that read the same in Latin and Cyrillic
REGIONS = ("01", "02", "02", "02", "05", "13", "17")  # mostly Almaty (02)


def plate(rng: random.Random) -> str:
    """A Kazakh-style plate: 3 digits, 3 letters, a 2-digit region code."""
    return f"{rng.randint(0, 999):03d}{''.join(rng.choices(LETTERS, k=3))}{rng.choice(REGIONS)}"


def _time(rng: random.Random, now_ms: int, days: int) -> int:
    day = rng.randrange(days)
    hour = rng.choices(range(24), weights=HOURLY)[0]
    local_midnight = (now_ms + LOCAL_OFFSET_MS) // DAY_MS * DAY_MS - LOCAL_OFFSET_MS
    moment = local_midnight - day * DAY_MS + hour * 3_600_000 + rng.randrange(3_600_000)
    return moment - DAY_MS if moment > now_ms else moment  # later today: same hour yesterday


def demo_row(rng: random.Random, sensor: dict[str, Any], now_ms: int, days: int = 7) -> dict[str, Any]:
    kind = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES])[0]
    limit = sensor["limit"]
    speed = max(5.0, rng.gauss(limit - 8, 9))
    if kind == "SPEEDING":
        speed = limit + 10 + rng.expovariate(1 / 12)
    has_plate = kind not in ("TRAFFIC_COUNT", "CONGESTION", "CAMERA_TAMPER")
    violation = kind not in NOT_VIOLATIONS
    occurred = _time(rng, now_ms, days)
    return {
        "id": new_id(),
        "sensor_id": sensor["id"],
        "external_id": f"demo-{new_id()}",
        "type": kind,
        "occurred_at": occurred,
        "received_at": min(now_ms, occurred + rng.randint(50, 3000)),
        "location_id": sensor["location_id"],
        "plate": plate(rng) if has_plate else None,
        "plate_confidence": round(rng.uniform(0.72, 0.995), 3) if has_plate else None,
        "speed_kmh": round(speed, 1) if kind not in ("CAMERA_TAMPER", "CONGESTION") else None,
        "speed_limit_kmh": float(limit),
        "lane": rng.randint(1, 4),
        "direction": rng.choice(("NORTHBOUND", "SOUTHBOUND", "EASTBOUND", "WESTBOUND")),
        "vehicle_class": rng.choices([c for c, _ in CLASSES], weights=[w for _, w in CLASSES])[0],
        "confidence": round(rng.uniform(0.8, 0.999), 3),
        "attributes": None,
        "is_violation": violation,
        "review_status": ("PENDING" if rng.random() < 0.6 else rng.choice(("CONFIRMED", "REJECTED")))
        if violation
        else None,
    }


async def _demo_sensors(db: Database, now_ms: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, location_id FROM sensors"
        " WHERE deleted_at IS NULL AND type <> 'EDGE_CONTROLLER' ORDER BY id"
    )
    if not rows:
        since = now_ms - HISTORY_DAYS * DAY_MS  # installed well before the first demo event
        async with db.transaction() as tx:
            for n, (name, lat, lon) in enumerate(
                (
                    ("Abay / Dostyk", 43.2402, 76.9562),
                    ("Al-Farabi / Nauryzbai", 43.2030, 76.8930),
                    ("Raiymbek Ave km 12", 43.2705, 76.8701),
                    ("Tole Bi / Baitursynov", 43.2520, 76.9260),
                )
            ):
                await tx.execute(
                    "INSERT INTO locations (id, name, address, type, latitude, longitude,"
                    " created_at, updated_at)"
                    " VALUES (:id, :name, :name, 'INTERSECTION', :lat, :lon, :since, :now)",
                    {
                        "id": f"demo-loc-{n + 1}",
                        "name": name,
                        "lat": lat,
                        "lon": lon,
                        "since": since,
                        "now": now_ms,
                    },
                )
                for m, kind in enumerate(("ANPR", "SPEED_DETECTOR")):
                    sensor_id = f"demo-sensor-{n + 1}{'ab'[m]}"
                    await tx.execute(
                        "INSERT INTO sensors (id, name, device_id, type, status, location_id,"
                        " last_heartbeat_at, created_at, updated_at)"
                        " VALUES (:id, :name, :id, :type, 'ONLINE', :loc, :now, :since, :now)",
                        {
                            "id": sensor_id,
                            "name": f"{name} {kind}",
                            "type": kind,
                            "loc": f"demo-loc-{n + 1}",
                            "since": since,
                            "now": now_ms,
                        },
                    )
                    await tx.execute(
                        "INSERT INTO sensor_status_changes (id, sensor_id, from_status, to_status, at,"
                        " reason) VALUES (:id, :id2, NULL, 'ONLINE', :since, 'installed')",
                        {"id": f"{sensor_id}-000", "id2": sensor_id, "since": since},
                    )
        rows = await db.fetch("SELECT id, location_id FROM sensors WHERE id LIKE 'demo-sensor-%' ORDER BY id")
    rng = random.Random(len(rows))
    return [
        {"id": r["id"], "location_id": r["location_id"], "limit": rng.choice((50, 60, 60, 80, 90))}
        for r in rows
    ]


async def seed_demo_events(
    db: Database,
    count: int,
    *,
    now_ms: int,
    progress: Progress | None = None,
    seed: int | None = None,
    batch_size: int = BATCH_ROWS,
    chunk_size: int = CHUNK_ROWS,
) -> int:
    """Insert `count` demo events, `batch_size` per transaction; returns how many were inserted."""
    if count < 0:
        raise ValueError("count must be zero or more")
    rng = random.Random(seed)
    sensors = await _demo_sensors(db, now_ms)
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        async with db.transaction() as tx:
            cache = None
            if db.engine == "sqlite":
                cache = await tx.fetchval("PRAGMA cache_size")
                await tx.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            written = 0
            while written < size:
                rows = [
                    demo_row(rng, rng.choice(sensors), now_ms) for _ in range(min(chunk_size, size - written))
                ]
                rows.sort(key=lambda row: (row["occurred_at"], row["id"]))  # neighbours in the time index
                await tx.executemany(INSERT, rows)
                written += len(rows)
                if progress is not None:
                    progress(done + written, count)
            if cache is not None:
                await tx.execute(f"PRAGMA cache_size={int(cache)}")
        done += size
    return done


def progress_bar(
    unit: str = "events",
    stream: TextIO | None = None,
    width: int = 30,
    clock: Callable[[], float] = time.monotonic,
) -> Progress:
    """Progress on `stream` (the current `sys.stderr` when None). On a terminal, a bar redrawn
    in place with the rate and the time left: `[#####.....]  52% 5,200/10,000 events  4,120/s
    1 s left`. Anywhere else (a log, a pipe, CI), one summary line when done: `10,000 events in
    2.4 s (4,120/s)`."""
    # Looked up per call, not bound as a default when the module is imported: this module is
    # imported when a command first runs, and whatever sys.stderr was then may be closed now.
    stream = sys.stderr if stream is None else stream
    started = clock()
    terminal = stream.isatty()

    def show(done: int, total: int) -> None:
        elapsed = max(clock() - started, 1e-9)
        rate = done / elapsed
        if not terminal:
            if done >= total:
                stream.write(f"{done:,} {unit} in {elapsed:.1f} s ({rate:,.0f}/s)\n")
                stream.flush()
            return
        filled = width * done // max(total, 1)
        percent = 100 * done // max(total, 1)
        left = (total - done) / rate if rate > 0 else 0.0
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done:,}/{total:,} {unit}"
            f"  {rate:,.0f}/s  {_duration(left)} left"
        )
        stream.write(line + ("\n" if done >= total else ""))
        stream.flush()

    return show


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"
