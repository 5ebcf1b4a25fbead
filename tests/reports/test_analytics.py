"""reports.getViolationStats / getTrafficVolume / getHotspots / getSensorUptime / getDashboardStats."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from procedures.events.schemas import VIOLATION_TYPES
from tests.reports.seed import add_change, add_events, add_location, add_sensor, event, local_ms
from tests.support import as_device, as_role, error, result
from tvms.clock import iso_ms
from tvms.db import Database

VIEWER = as_role("VIEWER")
ADMIN = as_role("ADMIN")
H = 3_600_000
BERLIN = "Europe/Berlin"


async def set_timezone(client: httpx.AsyncClient, zone: str, first_day: int = 1) -> None:
    await result(
        client,
        "system.timezone.updateTimezoneSettings",
        {"timezone": zone, "firstDayOfWeek": first_day},
        headers=ADMIN,
    )


def period(start: int, end: int, **extra: Any) -> dict[str, Any]:
    return {"from": iso_ms(start), "to": iso_ms(end), **extra}


# --- access and validation -----------------------------------------------------------------

PROCEDURES = [
    ("reports.getViolationStats", {"groupBy": "day"}),
    ("reports.getTrafficVolume", {"groupBy": "day"}),
    ("reports.getHotspots", {}),
    ("reports.getSensorUptime", {}),
    ("reports.getDashboardStats", {}),
]


@pytest.mark.parametrize(("method", "extra"), PROCEDURES)
async def test_analytics_need_a_signed_in_user(
    client: httpx.AsyncClient, method: str, extra: dict[str, Any]
) -> None:
    params = period(0, 86_400_000, **extra)
    assert (await error(client, method, params))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, method, params, headers=as_device()))["data"]["code"] == "FORBIDDEN"
    for role in ("VIEWER", "OPERATOR", "ADMIN"):
        await result(client, method, params, headers=as_role(role))


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"to": "2024-01-02T00:00:00Z", "groupBy": "day"}, "$"),
        ({"from": "2024-01-01T00:00:00", "to": "2024-01-02T00:00:00Z", "groupBy": "day"}, "$.from"),
        ({"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z", "groupBy": "day"}, "$"),
        ({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z", "groupBy": "fortnight"}, "$.groupBy"),
        ({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z", "groupBy": "day", "x": 1}, "$"),
        ({"from": 1704067200000, "to": "2024-01-02T00:00:00Z", "groupBy": "day"}, "$.from"),
        (
            {
                "from": "2024-01-01T00:00:00Z",
                "to": "2024-01-02T00:00:00Z",
                "groupBy": "day",
                "type": "DROP TABLE events",
            },
            "$.type",
        ),
        ({"from": "2020-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z", "groupBy": "month"}, "$.to"),
        ({"from": "2023-01-01T00:00:00Z", "to": "2024-12-31T00:00:00Z", "groupBy": "hour"}, "$.groupBy"),
        (
            {
                "from": "2024-01-01T00:00:00Z",
                "to": "2024-01-02T00:00:00Z",
                "groupBy": "day",
                "locationId": "x" * 65,
            },
            "$.locationId",
        ),
    ],
)
async def test_bad_input_is_refused_with_its_path(
    client: httpx.AsyncClient, params: dict[str, Any], path: str
) -> None:
    problem = await error(client, "reports.getViolationStats", params, headers=VIEWER)
    assert problem["code"] == -32602
    assert problem["data"]["issues"][0]["path"].startswith(path)


async def test_an_injection_string_as_a_filter_is_just_a_value(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_sensor(db, "s1")
    await add_events(db, [event("s1", "SPEEDING", local_ms("2024-05-01T10:00"))])
    stats = await result(
        client,
        "reports.getViolationStats",
        period(
            local_ms("2024-05-01T00:00"),
            local_ms("2024-05-02T00:00"),
            groupBy="day",
            locationId="' OR 1=1 --",
        ),
        headers=VIEWER,
    )
    assert stats["total"] == 0
    assert await db.fetchval("SELECT count(*) FROM events") == 1


# --- violations ----------------------------------------------------------------------------


async def test_violations_per_hour_on_the_spring_forward_day(client: httpx.AsyncClient, db: Database) -> None:
    await set_timezone(client, BERLIN)
    await add_sensor(db, "cam")
    start, end = local_ms("2024-03-31T00:00", BERLIN), local_ms("2024-04-01T00:00", BERLIN)
    rows = [event("cam", "SPEEDING", start + i * H + 60_000) for i in range(23)]  # one per real hour
    rows.append(event("cam", "ANPR_READ", start + 5 * H))  # not a violation
    rows.append(event("cam", "RED_LIGHT", end + 1))  # after the period
    await add_events(db, rows)
    stats = await result(
        client, "reports.getViolationStats", period(start, end, groupBy="hour"), headers=VIEWER
    )
    assert stats["timezone"] == BERLIN
    assert len(stats["buckets"]) == 23
    assert [b["count"] for b in stats["buckets"]] == [1] * 23
    assert stats["buckets"][2]["label"] == "2024-03-31T03:00+02:00"
    assert stats["total"] == 23
    assert stats["byType"] == [{"type": "SPEEDING", "count": 23}]


async def test_violations_per_hour_on_the_autumn_day_keep_the_repeated_hour_apart(
    client: httpx.AsyncClient, db: Database
) -> None:
    await set_timezone(client, BERLIN)
    await add_sensor(db, "cam")
    start, end = local_ms("2024-10-27T00:00", BERLIN), local_ms("2024-10-28T00:00", BERLIN)
    first_two = local_ms("2024-10-27T02:30", BERLIN, fold=0)
    second_two = local_ms("2024-10-27T02:30", BERLIN, fold=1)
    await add_events(
        db,
        [
            event("cam", "SPEEDING", first_two),
            event("cam", "SPEEDING", second_two),
            event("cam", "SPEEDING", second_two + 1),
        ],
    )
    stats = await result(
        client, "reports.getViolationStats", period(start, end, groupBy="hour"), headers=VIEWER
    )
    assert len(stats["buckets"]) == 25
    repeated = [(b["label"], b["count"]) for b in stats["buckets"][2:4]]
    assert repeated == [("2024-10-27T02:00+02:00", 1), ("2024-10-27T02:00+01:00", 2)]


async def test_days_in_kolkata_start_at_local_midnight(client: httpx.AsyncClient, db: Database) -> None:
    await set_timezone(client, "Asia/Kolkata")
    await add_sensor(db, "cam")
    zone = "Asia/Kolkata"
    await add_events(
        db,
        [
            event("cam", "SPEEDING", local_ms("2024-06-01T23:59", zone)),
            event("cam", "SPEEDING", local_ms("2024-06-02T00:00", zone)),  # 18:30 UTC on June 1
            event("cam", "SPEEDING", local_ms("2024-06-02T00:29", zone)),
        ],
    )
    stats = await result(
        client,
        "reports.getViolationStats",
        period(local_ms("2024-06-01T00:00", zone), local_ms("2024-06-03T00:00", zone) - 1, groupBy="day"),
        headers=VIEWER,
    )
    assert [(b["label"], b["count"]) for b in stats["buckets"]] == [("2024-06-01", 1), ("2024-06-02", 2)]
    assert stats["buckets"][1]["start"] == "2024-06-01T18:30:00.000Z"


@pytest.mark.parametrize(
    ("first_day", "labels"), [(1, ["2024-06-03", "2024-06-10"]), (0, ["2024-06-02", "2024-06-09"])]
)
async def test_weeks_start_on_the_configured_day(
    client: httpx.AsyncClient, db: Database, first_day: int, labels: list[str]
) -> None:
    await set_timezone(client, "UTC", first_day)
    await add_sensor(db, "cam")
    # 2024-06-09 is a Sunday: in a Monday week it belongs to the first week, in a Sunday week to the second.
    await add_events(db, [event("cam", "SPEEDING", local_ms("2024-06-09T12:00"))])
    stats = await result(
        client,
        "reports.getViolationStats",
        period(local_ms("2024-06-04T00:00"), local_ms("2024-06-12T00:00"), groupBy="week"),
        headers=VIEWER,
    )
    assert [b["label"] for b in stats["buckets"]] == labels
    assert [b["count"] for b in stats["buckets"]] == ([1, 0] if first_day == 1 else [0, 1])


async def test_type_location_and_review_counts(client: httpx.AsyncClient, db: Database) -> None:
    await add_location(db, "loc-a", "Abay / Dostyk")
    await add_sensor(db, "cam", location_id="loc-a")
    at = local_ms("2024-05-01T10:00")
    await add_events(
        db,
        [
            event("cam", "SPEEDING", at, location_id="loc-a", review_status="CONFIRMED"),
            event("cam", "SPEEDING", at + 1, location_id="loc-a", review_status="REJECTED"),
            event("cam", "RED_LIGHT", at + 2, location_id="loc-a"),
            event("cam", "RED_LIGHT", at + 3),
        ],
    )
    base = period(local_ms("2024-05-01T00:00"), local_ms("2024-05-02T00:00"), groupBy="day")
    everything = await result(client, "reports.getViolationStats", base, headers=VIEWER)
    assert everything["total"] == 4
    assert everything["byType"] == [{"type": "RED_LIGHT", "count": 2}, {"type": "SPEEDING", "count": 2}]
    assert everything["byReview"] == {"pending": 2, "confirmed": 1, "rejected": 1}
    at_a = await result(client, "reports.getViolationStats", {**base, "locationId": "loc-a"}, headers=VIEWER)
    assert at_a["total"] == 3
    red = await result(client, "reports.getViolationStats", {**base, "type": "RED_LIGHT"}, headers=VIEWER)
    assert red["total"] == 2 and red["buckets"][0]["byType"] == [{"type": "RED_LIGHT", "count": 2}]


async def test_coverage_shows_when_the_cameras_were_offline(client: httpx.AsyncClient, db: Database) -> None:
    day = local_ms("2024-05-01T00:00")
    await add_sensor(db, "cam", created_at=day - 86_400_000)
    await add_change(db, "cam", day - 1000, "OFFLINE", "ONLINE")
    await add_change(db, "cam", day + 6 * H, "ONLINE", "OFFLINE")  # down from 06:00
    await add_change(db, "cam", day + 12 * H, "OFFLINE", "ONLINE")  # back at 12:00
    await add_events(db, [event("cam", "SPEEDING", day + 3 * H)])
    stats = await result(
        client, "reports.getViolationStats", period(day, day + 24 * H, groupBy="hour"), headers=VIEWER
    )
    coverage = [b["coverage"] for b in stats["buckets"]]
    assert coverage == [1.0] * 6 + [0.0] * 6 + [1.0] * 12
    assert stats["coverage"] == 0.75
    # Zero violations from 06:00 to 12:00 means "not watched", and says so.
    assert stats["buckets"][7] == {**stats["buckets"][7], "count": 0, "coverage": 0.0}


async def test_coverage_only_counts_sensors_in_scope(client: httpx.AsyncClient, db: Database) -> None:
    await add_location(db, "loc-a", "A")
    await add_sensor(db, "up", location_id="loc-a", status="ONLINE")
    await add_sensor(db, "down", status="OFFLINE")
    await add_sensor(db, "gateway", type="EDGE_CONTROLLER", status="OFFLINE", location_id="loc-a")
    base = period(local_ms("2024-05-01T00:00"), local_ms("2024-05-02T00:00"), groupBy="day")
    assert (await result(client, "reports.getViolationStats", base, headers=VIEWER))["coverage"] == 0.5
    at_a = await result(client, "reports.getViolationStats", {**base, "locationId": "loc-a"}, headers=VIEWER)
    assert at_a["coverage"] == 1.0


async def test_future_buckets_have_no_coverage(client: httpx.AsyncClient, db: Database) -> None:
    await set_timezone(client, "UTC")
    await add_sensor(db, "cam")
    stats = await result(
        client,
        "reports.getViolationStats",
        period(local_ms("2024-12-31T00:00"), local_ms("2025-01-02T00:00"), groupBy="day"),
        headers=VIEWER,
    )
    assert [b["coverage"] for b in stats["buckets"]] == [1.0, None]


# --- agreement with events.getAll -----------------------------------------------------------


async def _events_total(client: httpx.AsyncClient, params: dict[str, Any]) -> int:
    total, cursor = 0, None
    while True:
        page = await result(
            client,
            "events.getAll",
            {**params, "take": 500, **({"cursor": cursor} if cursor else {})},
            headers=VIEWER,
        )
        total += len(page["events"])
        cursor = page["nextCursor"]
        if cursor is None:
            return total


async def test_totals_agree_with_events_get_all_on_generated_data(
    client: httpx.AsyncClient, db: Database
) -> None:
    await set_timezone(client, BERLIN)
    randomness = random.Random(7)
    for loc in ("loc-a", "loc-b"):
        await add_location(db, loc, loc.upper())
    sensors = [("s1", "loc-a"), ("s2", "loc-a"), ("s3", "loc-b")]
    for sensor_id, loc in sensors:
        await add_sensor(db, sensor_id, location_id=loc)
    start, end = local_ms("2024-03-25T00:00", BERLIN), local_ms("2024-04-02T00:00", BERLIN)
    types = [*sorted(VIOLATION_TYPES), "ANPR_READ", "TRAFFIC_COUNT", "ACCIDENT", "VIDEO_LOSS"]
    rows = []
    for _ in range(1500):
        sensor_id, loc = randomness.choice(sensors)
        at = randomness.randrange(start - 2 * H, end + 2 * H)
        rows.append(
            event(
                sensor_id,
                randomness.choice(types),
                at,
                location_id=loc,
                speed_kmh=randomness.choice([None, 55.0, 90.5]),
                vehicle_class=randomness.choice([None, "CAR", "TRUCK"]),
            )
        )
    rows += [
        event("s1", "SPEEDING", start, location_id="loc-a"),
        event("s1", "SPEEDING", end, location_id="loc-a"),
    ]
    await add_events(db, rows)
    violation_types = sorted(VIOLATION_TYPES)
    for group_by in ("hour", "day", "week"):
        for filters in ({}, {"locationId": "loc-a"}, {"type": "SPEEDING"}):
            stats = await result(
                client,
                "reports.getViolationStats",
                period(start, end, groupBy=group_by, **filters),
                headers=VIEWER,
            )
            types_filter = [filters["type"]] if "type" in filters else violation_types
            query = {
                **period(start, end),
                "types": types_filter,
                **({"locationId": filters["locationId"]} if "locationId" in filters else {}),
            }
            expected = await _events_total(client, query)
            assert stats["total"] == expected == sum(b["count"] for b in stats["buckets"])
    volume_types = [
        t
        for t in [*types, "CONGESTION", "CAMERA_TAMPER"]
        if t not in ("ACCIDENT", "CONGESTION", "CAMERA_TAMPER", "VIDEO_LOSS")
    ]
    for filters in ({}, {"sensorId": "s2"}, {"locationId": "loc-b"}):
        volume = await result(
            client, "reports.getTrafficVolume", period(start, end, groupBy="day", **filters), headers=VIEWER
        )
        expected = await _events_total(
            client, {**period(start, end), "types": sorted(set(volume_types)), **filters}
        )
        assert volume["total"] == expected == sum(b["count"] for b in volume["buckets"])


# --- traffic volume, hotspots, uptime, dashboard --------------------------------------------


async def test_traffic_volume_counts_vehicles_with_average_speed(
    client: httpx.AsyncClient, db: Database
) -> None:
    await add_sensor(db, "radar", type="RADAR")
    await add_sensor(db, "cam")
    at = local_ms("2024-05-01T10:00")
    await add_events(
        db,
        [
            event("radar", "TRAFFIC_COUNT", at, speed_kmh=50.0, vehicle_class="CAR"),
            event("radar", "SPEEDING", at + H, speed_kmh=100.0, vehicle_class="CAR"),
            event("radar", "ANPR_READ", at + H, vehicle_class="TRUCK"),
            event("radar", "ACCIDENT", at),  # an incident, not a vehicle
            event("cam", "ANPR_READ", at),
        ],
    )
    volume = await result(
        client,
        "reports.getTrafficVolume",
        period(local_ms("2024-05-01T00:00"), local_ms("2024-05-02T00:00"), groupBy="hour", sensorId="radar"),
        headers=VIEWER,
    )
    assert volume["total"] == 3
    assert volume["averageSpeedKmh"] == 75.0
    assert volume["byVehicleClass"] == [
        {"vehicleClass": "CAR", "count": 2},
        {"vehicleClass": "TRUCK", "count": 1},
    ]
    assert [(b["count"], b["averageSpeedKmh"]) for b in volume["buckets"][10:12]] == [(1, 50.0), (2, 100.0)]
    assert volume["coverage"] == 1.0


async def test_hotspots_rank_locations_by_violations(client: httpx.AsyncClient, db: Database) -> None:
    for loc, name in (("a", "Abay"), ("b", "Baker"), ("c", "Cedar")):
        await add_location(db, loc, name)
        await add_sensor(db, f"cam-{loc}", location_id=loc, status="ONLINE" if loc != "c" else "OFFLINE")
    at = local_ms("2024-05-01T10:00")
    rows = [event("cam-b", "SPEEDING", at + i, location_id="b") for i in range(3)]
    rows += [
        event("cam-a", "RED_LIGHT", at, location_id="a"),
        event("cam-c", "SPEEDING", at, location_id="c"),
        event("cam-c", "RED_LIGHT", at, location_id="c"),
        event("cam-a", "ANPR_READ", at, location_id="a"),
    ]
    await add_events(db, rows)
    spots = await result(
        client,
        "reports.getHotspots",
        period(local_ms("2024-05-01T00:00"), local_ms("2024-05-02T00:00"), limit=2),
        headers=VIEWER,
    )
    assert [(h["locationId"], h["name"], h["violations"]) for h in spots["hotspots"]] == [
        ("b", "Baker", 3),
        ("c", "Cedar", 2),
    ]
    assert spots["hotspots"][1]["coverage"] == 0.0
    assert spots["hotspots"][1]["byType"] == [
        {"type": "RED_LIGHT", "count": 1},
        {"type": "SPEEDING", "count": 1},
    ]
    assert (await error(client, "reports.getHotspots", period(0, H, limit=101), headers=VIEWER))[
        "code"
    ] == -32602


async def test_sensor_uptime_from_the_status_history(client: httpx.AsyncClient, db: Database) -> None:
    day = local_ms("2024-05-01T00:00")
    await add_sensor(db, "a", status="ONLINE")
    await add_change(db, "a", day + 18 * H, "ONLINE", "OFFLINE")
    await add_change(db, "a", day + 21 * H, "OFFLINE", "ONLINE")
    await add_sensor(db, "b", status="MAINTENANCE")
    await add_sensor(db, "later", created_at=day + 12 * H)
    await add_sensor(db, "gone", deleted_at=day - H)
    uptime = await result(client, "reports.getSensorUptime", period(day, day + 24 * H), headers=VIEWER)
    by_id = {s["sensorId"]: s for s in uptime["sensors"]}
    assert set(by_id) == {"a", "b", "later"}
    assert by_id["a"]["uptime"] == 0.875 and by_id["a"]["statusChanges"] == 2
    assert by_id["b"]["uptime"] == 0.0
    assert by_id["later"]["uptime"] == 1.0 and by_id["later"]["observedMs"] == 12 * H
    assert uptime["uptime"] == round((21 + 0 + 12) / 60, 4)


async def test_dashboard_defaults_to_today_in_the_system_zone(
    client: httpx.AsyncClient, db: Database
) -> None:
    # The clock reads 2025-01-01T00:00Z = 05:00 in Tashkent-like UTC+5 zones; use Asia/Almaty (UTC+5).
    await set_timezone(client, "Asia/Almaty")
    await add_sensor(db, "cam", status="ONLINE", last_heartbeat_at=1_735_689_600_000 - 1000)
    await add_sensor(db, "stale", status="ONLINE", last_heartbeat_at=1_735_689_600_000 - 3600_000)
    await add_sensor(db, "fix", status="MAINTENANCE")
    midnight = local_ms("2025-01-01T00:00", "Asia/Almaty")
    await add_events(
        db,
        [
            event("cam", "SPEEDING", midnight + 1000),
            event("cam", "ANPR_READ", midnight + 2000),
            event("cam", "SPEEDING", midnight - 1000),  # yesterday, local time
        ],
    )
    stats = await result(client, "reports.getDashboardStats", None, headers=VIEWER)
    assert stats["from"] == iso_ms(midnight)
    assert (stats["totalEvents"], stats["totalViolations"], stats["pendingReviews"]) == (2, 1, 1)
    assert stats["sensors"] == {"total": 3, "online": 1, "offline": 1, "maintenance": 1, "error": 0}
    assert stats["violationsByType"] == [{"type": "SPEEDING", "count": 1}]
