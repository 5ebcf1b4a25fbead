"""The analytics behind `reports.*`, on a Database (no Context: the report worker uses them too).

What counts, so totals agree with `events.getAll` given the same filters:
- a violation is an event with `is_violation` (the violation types of the events router), in
  every review state (CONFIRMED, PENDING and REJECTED are also counted apart);
- traffic volume counts vehicle observations: every event type except the incidents and
  device alarms in `NOT_VEHICLES`;
- the period is `from <= occurred_at <= to` (both inclusive, as in `events.getAll`); the buckets
  are half-open `[start, end)` except the last, which also holds an event at exactly `to`;
- `locationId` filters `events.location_id` (the location of the sensor when the event was
  received), `sensorId` filters `events.sensor_id`.
Coverage (see `coverage.py`) uses the detecting sensors in scope: cameras, radars, ANPR units
and speed detectors (gateways and recorders produce no events), at the location or the sensor
asked for, or all of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from procedures.paging import placeholders
from procedures.reports.buckets import Bucket, Buckets, GroupBy, make_buckets
from procedures.reports.coverage import Coverage, SensorHistory, coverage
from procedures.reports.schemas import (
    ClassCount,
    DashboardStats,
    Hotspot,
    Hotspots,
    ReviewCounts,
    SensorCounts,
    SensorUptime,
    TrafficVolume,
    TypeCount,
    UptimeReport,
    ViolationBucket,
    ViolationStats,
    VolumeBucket,
)
from tvms.clock import iso_ms
from tvms.db import Database

NOT_VEHICLES = ("ACCIDENT", "CONGESTION", "CAMERA_TAMPER", "VIDEO_LOSS")
DETECTING_SENSORS = ("CAMERA", "RADAR", "ANPR", "SPEED_DETECTOR")


@dataclass(frozen=True, slots=True)
class Scope:
    """One analytics question: the period, the local calendar, and the filters."""

    start: int
    end: int
    zone: str
    first_day_of_week: int
    now: int
    location_id: str | None = None
    sensor_id: str | None = None
    types: tuple[str, ...] = ()


def _in_list(prefix: str, values: Sequence[str], params: dict[str, Any]) -> str:
    """`(:p0, :p1, ...)` with the values bound into `params`: SQL stays parameterised for any list."""
    marks, bound = placeholders(prefix, values)
    params.update(bound)
    return f"({marks})"


def _type_counts(counts: dict[str, int]) -> list[TypeCount]:
    return [TypeCount(type=t, count=n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


# --- coverage -----------------------------------------------------------------------------


async def sensor_histories(
    db: Database, scope: Scope, location_ids: Sequence[str] = ()
) -> list[SensorHistory]:
    """The status histories in `[start, end)` of the detecting sensors in scope."""
    params: dict[str, Any] = {"start": scope.start, "end": scope.end}
    where = [
        "s.created_at < :end",
        "(s.deleted_at IS NULL OR s.deleted_at > :start)",
        "s.type IN " + _in_list("st", DETECTING_SENSORS, params),
    ]
    if scope.location_id is not None:
        where.append("s.location_id = :location_id")
        params["location_id"] = scope.location_id
    if scope.sensor_id is not None:
        where.append("s.id = :sensor_id")
        params["sensor_id"] = scope.sensor_id
    if location_ids:
        where.append("s.location_id IN " + _in_list("loc", location_ids, params))
    condition = " AND ".join(where)
    sensors = await db.fetch(
        "SELECT s.id, s.status, s.created_at, s.deleted_at, s.last_heartbeat_at, s.heartbeat_timeout_s,"
        " s.location_id,"
        " (SELECT c.to_status FROM sensor_status_changes c WHERE c.sensor_id = s.id AND c.at < :start"
        "  ORDER BY c.at DESC, c.id DESC LIMIT 1) AS status_before"
        f" FROM sensors s WHERE {condition} ORDER BY s.id",
        params,
    )
    histories = {
        row["id"]: SensorHistory(
            sensor_id=row["id"],
            created_at=row["created_at"],
            current_status=row["status"],
            status_before=row["status_before"],
            last_heartbeat_at=row["last_heartbeat_at"],
            heartbeat_timeout_ms=row["heartbeat_timeout_s"] * 1000,
            deleted_at=row["deleted_at"],
            location_id=row["location_id"],
        )
        for row in sensors
    }
    if histories:
        changes = await db.fetch(
            "SELECT c.sensor_id, c.at, c.from_status, c.to_status FROM sensor_status_changes c"
            f" JOIN sensors s ON s.id = c.sensor_id WHERE {condition} AND c.at >= :start AND c.at < :end"
            " ORDER BY c.at, c.id",
            params,
        )
        for row in changes:
            histories[row["sensor_id"]].changes.append((row["at"], row["from_status"], row["to_status"]))
    return list(histories.values())


async def scope_coverage(db: Database, scope: Scope, buckets: Sequence[Bucket]) -> Coverage:
    return coverage(buckets, await sensor_histories(db, scope), scope.now)


# --- violations ----------------------------------------------------------------------------


def period_buckets(scope: Scope, group_by: GroupBy) -> Buckets:
    return make_buckets(scope.start, scope.end, group_by, scope.zone, scope.first_day_of_week)


def violation_query(scope: Scope, slot_ms: int) -> tuple[str, dict[str, Any]]:
    """Violations counted per (slot, type); the benchmark prints this query's plan."""
    params: dict[str, Any] = {"start": scope.start, "end": scope.end, "slot": slot_ms}
    where = "is_violation AND occurred_at >= :start AND occurred_at <= :end"
    if scope.types:
        where += " AND type IN " + _in_list("t", scope.types, params)
    if scope.location_id is not None:
        where += " AND location_id = :location_id"
        params["location_id"] = scope.location_id
    sql = (
        "SELECT occurred_at / :slot AS slot, type, count(*) AS n,"
        " sum(CASE WHEN review_status = 'CONFIRMED' THEN 1 ELSE 0 END) AS confirmed,"
        " sum(CASE WHEN review_status = 'REJECTED' THEN 1 ELSE 0 END) AS rejected"
        f" FROM events WHERE {where} GROUP BY 1, 2"
    )
    return sql, params


async def violation_stats(db: Database, scope: Scope, group_by: GroupBy) -> ViolationStats:
    """Violations per local bucket and per type, with review counts and coverage."""
    buckets = period_buckets(scope, group_by)
    rows = await db.fetch(*violation_query(scope, buckets.slot_ms))
    per_bucket: list[dict[str, int]] = [defaultdict(int) for _ in buckets.items]
    by_type: dict[str, int] = defaultdict(int)
    confirmed = rejected = 0
    for row in rows:
        n = int(row["n"])
        per_bucket[buckets.bucket_of(int(row["slot"]))][row["type"]] += n
        by_type[row["type"]] += n
        confirmed += int(row["confirmed"] or 0)
        rejected += int(row["rejected"] or 0)
    total = sum(by_type.values())
    cover = await scope_coverage(db, scope, buckets.items)
    return ViolationStats(
        from_=iso_ms(scope.start),
        to=iso_ms(scope.end),
        group_by=group_by,
        timezone=scope.zone,
        total=total,
        coverage=cover.overall,
        by_type=_type_counts(by_type),
        by_review=ReviewCounts(pending=total - confirmed - rejected, confirmed=confirmed, rejected=rejected),
        buckets=[
            ViolationBucket(
                start=iso_ms(bucket.start),
                end=iso_ms(bucket.end),
                label=bucket.label,
                count=sum(counts.values()),
                coverage=share,
                by_type=_type_counts(counts),
            )
            for bucket, counts, share in zip(buckets.items, per_bucket, cover.per_bucket, strict=True)
        ],
    )


# --- traffic volume ------------------------------------------------------------------------


async def traffic_volume(db: Database, scope: Scope, group_by: GroupBy) -> TrafficVolume:
    """Vehicle observations per local bucket, with average speed and coverage."""
    buckets = period_buckets(scope, group_by)
    params: dict[str, Any] = {"start": scope.start, "end": scope.end, "slot": buckets.slot_ms}
    where = "occurred_at >= :start AND occurred_at <= :end AND type NOT IN " + _in_list(
        "nv", NOT_VEHICLES, params
    )
    if scope.location_id is not None:
        where += " AND location_id = :location_id"
        params["location_id"] = scope.location_id
    if scope.sensor_id is not None:
        where += " AND sensor_id = :sensor_id"
        params["sensor_id"] = scope.sensor_id
    rows = await db.fetch(
        "SELECT occurred_at / :slot AS slot, vehicle_class, count(*) AS n, count(speed_kmh) AS speeds,"
        f" sum(speed_kmh) AS speed_sum FROM events WHERE {where} GROUP BY 1, 2",
        params,
    )
    counts = [0] * len(buckets.items)
    speed_n = [0] * len(buckets.items)
    speed_sum = [0.0] * len(buckets.items)
    by_class: dict[str | None, int] = defaultdict(int)
    for row in rows:
        index = buckets.bucket_of(int(row["slot"]))
        counts[index] += int(row["n"])
        speed_n[index] += int(row["speeds"])
        speed_sum[index] += float(row["speed_sum"] or 0.0)
        by_class[row["vehicle_class"]] += int(row["n"])
    cover = await scope_coverage(db, scope, buckets.items)
    total_speeds = sum(speed_n)
    return TrafficVolume(
        from_=iso_ms(scope.start),
        to=iso_ms(scope.end),
        group_by=group_by,
        timezone=scope.zone,
        total=sum(counts),
        average_speed_kmh=round(sum(speed_sum) / total_speeds, 2) if total_speeds else None,
        coverage=cover.overall,
        by_vehicle_class=[
            ClassCount(vehicle_class=k, count=n)
            for k, n in sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0] or ""))
        ],
        buckets=[
            VolumeBucket(
                start=iso_ms(bucket.start),
                end=iso_ms(bucket.end),
                label=bucket.label,
                count=counts[i],
                average_speed_kmh=round(speed_sum[i] / speed_n[i], 2) if speed_n[i] else None,
                coverage=cover.per_bucket[i],
            )
            for i, bucket in enumerate(buckets.items)
        ],
    )


# --- hotspots ------------------------------------------------------------------------------


async def hotspots(db: Database, scope: Scope, limit: int) -> Hotspots:
    """The locations with the most violations in the period, with their types and coverage."""
    params: dict[str, Any] = {"start": scope.start, "end": scope.end, "limit": limit}
    top = await db.fetch(
        "SELECT location_id, count(*) AS n FROM events"
        " WHERE is_violation AND occurred_at >= :start AND occurred_at <= :end AND location_id IS NOT NULL"
        " GROUP BY location_id ORDER BY n DESC, location_id LIMIT :limit",
        params,
    )
    ids = [row["location_id"] for row in top]
    if not ids:
        return Hotspots(from_=iso_ms(scope.start), to=iso_ms(scope.end), hotspots=[])
    named: dict[str, Any] = {}
    id_list = _in_list("l", ids, named)
    detail = {"start": scope.start, "end": scope.end, **named}
    types = await db.fetch(
        "SELECT location_id, type, count(*) AS n FROM events"
        " WHERE is_violation AND occurred_at >= :start AND occurred_at <= :end"
        f" AND location_id IN {id_list} GROUP BY location_id, type",
        detail,
    )
    places = await db.fetch(
        f"SELECT id, name, latitude, longitude FROM locations WHERE id IN {id_list}",
        named,
    )
    by_location: dict[str, dict[str, int]] = defaultdict(dict)
    for row in types:
        by_location[row["location_id"]][row["type"]] = int(row["n"])
    histories = await sensor_histories(db, scope, ids)
    whole = [Bucket(scope.start, scope.end, "")]
    place_by_id = {row["id"]: row for row in places}
    result = []
    for row in top:
        location_id = row["location_id"]
        place = place_by_id.get(location_id)
        here = [h for h in histories if h.location_id == location_id]
        result.append(
            Hotspot(
                location_id=location_id,
                # A location deleted since keeps its events (location_id is not a foreign key there).
                name=place["name"] if place is not None else "(deleted location)",
                latitude=place["latitude"] if place is not None else None,
                longitude=place["longitude"] if place is not None else None,
                violations=int(row["n"]),
                by_type=_type_counts(by_location[location_id]),
                coverage=coverage(whole, here, scope.now).overall,
            )
        )
    return Hotspots(from_=iso_ms(scope.start), to=iso_ms(scope.end), hotspots=result)


# --- sensor uptime -------------------------------------------------------------------------


async def sensor_uptime(db: Database, scope: Scope) -> UptimeReport:
    """Each detecting sensor's share of the period it was ONLINE, and how often it changed."""
    histories = await sensor_histories(db, scope)
    whole = [Bucket(scope.start, scope.end, "")]
    params: dict[str, Any] = {"start": scope.start, "end": scope.end}
    info = {
        row["id"]: row
        for row in await db.fetch(
            "SELECT id, name, device_id, type, status, location_id FROM sensors"
            " WHERE created_at < :end AND (deleted_at IS NULL OR deleted_at > :start)",
            params,
        )
    }
    sensors = []
    online_total = observed_total = 0
    for history in histories:
        row = info[history.sensor_id]
        cover = coverage(whole, [history], scope.now)
        online_total += cover.online_ms[0]
        observed_total += cover.observed_ms[0]
        sensors.append(
            SensorUptime(
                sensor_id=history.sensor_id,
                name=row["name"],
                device_id=row["device_id"],
                type=row["type"],
                status=row["status"],
                location_id=row["location_id"],
                uptime=cover.overall,
                online_ms=cover.online_ms[0],
                observed_ms=cover.observed_ms[0],
                status_changes=len(history.changes),
            )
        )
    sensors.sort(key=lambda s: (s.name, s.sensor_id))
    return UptimeReport(
        from_=iso_ms(scope.start),
        to=iso_ms(scope.end),
        uptime=round(online_total / observed_total, 4) if observed_total else None,
        sensors=sensors,
    )


# --- dashboard -----------------------------------------------------------------------------


async def dashboard(db: Database, scope: Scope) -> DashboardStats:
    """Headline figures for the period and the sensors' state now."""
    params: dict[str, Any] = {"start": scope.start, "end": scope.end}
    totals = await db.fetchrow(
        "SELECT count(*) AS total,"
        " sum(CASE WHEN is_violation THEN 1 ELSE 0 END) AS violations,"
        " sum(CASE WHEN is_violation AND review_status = 'PENDING' THEN 1 ELSE 0 END) AS pending"
        " FROM events WHERE occurred_at >= :start AND occurred_at <= :end",
        params,
    )
    types = await db.fetch(
        "SELECT type, count(*) AS n FROM events WHERE is_violation AND occurred_at >= :start"
        " AND occurred_at <= :end GROUP BY type",
        params,
    )
    # A sensor left ONLINE whose heartbeat is older than its timeout reads OFFLINE (sensors router rule).
    states = await db.fetch(
        "SELECT CASE WHEN status = 'ONLINE' AND last_heartbeat_at IS NOT NULL"
        "  AND last_heartbeat_at + heartbeat_timeout_s * 1000 < :now THEN 'OFFLINE' ELSE status END AS state,"
        " count(*) AS n FROM sensors WHERE deleted_at IS NULL GROUP BY 1",
        {"now": scope.now},
    )
    by_state = {row["state"]: int(row["n"]) for row in states}
    cover = await scope_coverage(db, scope, [Bucket(scope.start, scope.end, "")])
    return DashboardStats(
        from_=iso_ms(scope.start),
        to=iso_ms(scope.end),
        timezone=scope.zone,
        total_events=int(totals["total"]) if totals else 0,
        total_violations=int((totals["violations"] if totals else 0) or 0),
        pending_reviews=int((totals["pending"] if totals else 0) or 0),
        violations_by_type=_type_counts({row["type"]: int(row["n"]) for row in types}),
        sensors=SensorCounts(
            total=sum(by_state.values()),
            online=by_state.get("ONLINE", 0),
            offline=by_state.get("OFFLINE", 0),
            maintenance=by_state.get("MAINTENANCE", 0),
            error=by_state.get("ERROR", 0),
        ),
        coverage=cover.overall,
    )
