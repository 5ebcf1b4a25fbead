"""Producing a report's file: CSV and JSON streamed page by page, PDF from the summary.

Writers append encoded chunks to a file, so memory holds one page of rows (EXPORT_PAGE) at a
time however long the period is. Cells that a spreadsheet would run as a formula (=, +, -, @
first) are prefixed with an apostrophe in CSV text columns (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
import msgspec

from procedures.reports import stats
from procedures.reports.jobs import Job
from procedures.reports.pdf import build_pdf
from procedures.reports.pdf_layout import branding
from procedures.reports.schemas import Hotspots, TrafficVolume, UptimeReport, ViolationStats
from tvms.clock import iso_ms
from tvms.db import Database

EXPORT_PAGE = 2000
Progress = Callable[[int], Awaitable[None]]  # percent done, 0..100

EXPORT_COLUMNS = (
    "id",
    "occurredAt",
    "occurredAtLocal",
    "receivedAt",
    "type",
    "isViolation",
    "reviewStatus",
    "sensorId",
    "externalId",
    "locationId",
    "plate",
    "plateConfidence",
    "speedKmh",
    "speedLimitKmh",
    "lane",
    "direction",
    "vehicleClass",
    "confidence",
)
_EXPORT_SQL_COLUMNS = (
    "id, occurred_at, received_at, type, is_violation, review_status, sensor_id, external_id,"
    " location_id, plate, plate_confidence, speed_kmh, speed_limit_kmh, lane, direction, vehicle_class,"
    " confidence"
)


def safe_cell(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _scope(job: Job, now: int) -> stats.Scope:
    return stats.Scope(
        start=job.start,
        end=job.end,
        zone=job.zone,
        first_day_of_week=job.first_day_of_week,
        now=now,
        location_id=job.filters.location_id,
        sensor_id=job.filters.sensor_id,
        types=tuple(job.filters.types or ()),
    )


# --- events export -------------------------------------------------------------------------


def _export_where(job: Job, params: dict[str, Any]) -> str:
    params.update(start=job.start, end=job.end)
    where = "occurred_at >= :start AND occurred_at <= :end"
    filters = job.filters
    if filters.types:
        where += " AND type IN " + stats._in_list("t", filters.types, params)
    if filters.sensor_id is not None:
        where += " AND sensor_id = :sensor_id"
        params["sensor_id"] = filters.sensor_id
    if filters.location_id is not None:
        where += " AND location_id = :location_id"
        params["location_id"] = filters.location_id
    if filters.review_status is not None:
        where += " AND review_status = :review_status"
        params["review_status"] = filters.review_status
    return where


async def export_count(db: Database, job: Job) -> int:
    params: dict[str, Any] = {}
    where = _export_where(job, params)
    return int(await db.fetchval(f"SELECT count(*) FROM events WHERE {where}", params) or 0)


async def export_pages(db: Database, job: Job) -> AsyncIterator[list[Any]]:
    """The events of the report, oldest first, EXPORT_PAGE rows at a time (keyset pagination)."""
    params: dict[str, Any] = {}
    where = _export_where(job, params)
    after: tuple[int, str] | None = None
    while True:
        page_params = dict(params, take=EXPORT_PAGE)
        condition = where
        if after is not None:
            condition += " AND (occurred_at > :after_at OR (occurred_at = :after_at AND id > :after_id))"
            page_params.update(after_at=after[0], after_id=after[1])
        rows = await db.fetch(
            f"SELECT {_EXPORT_SQL_COLUMNS} FROM events WHERE {condition}"
            " ORDER BY occurred_at, id LIMIT :take",
            page_params,
        )
        if not rows:
            return
        yield rows
        if len(rows) < EXPORT_PAGE:
            return
        after = (rows[-1]["occurred_at"], rows[-1]["id"])


def _local_iso(epoch_ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, zone).isoformat(timespec="milliseconds")


def _export_record(row: Any, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row["id"],
        "occurredAt": iso_ms(row["occurred_at"]),
        "occurredAtLocal": _local_iso(row["occurred_at"], zone),
        "receivedAt": iso_ms(row["received_at"]),
        "type": row["type"],
        "isViolation": bool(row["is_violation"]),
        "reviewStatus": row["review_status"],
        "sensorId": row["sensor_id"],
        "externalId": row["external_id"],
        "locationId": row["location_id"],
        "plate": row["plate"],
        "plateConfidence": row["plate_confidence"],
        "speedKmh": row["speed_kmh"],
        "speedLimitKmh": row["speed_limit_kmh"],
        "lane": row["lane"],
        "direction": row["direction"],
        "vehicleClass": row["vehicle_class"],
        "confidence": row["confidence"],
    }


_TEXT_COLUMNS = frozenset(
    {
        "id",
        "sensorId",
        "externalId",
        "locationId",
        "plate",
        "direction",
        "vehicleClass",
        "reviewStatus",
        "type",
    }
)


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _csv_cells(record: dict[str, Any]) -> list[str]:
    cells = []
    for column in EXPORT_COLUMNS:
        value = record[column]
        if column in _TEXT_COLUMNS:
            cells.append(safe_cell(value))
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append(_number(value))
    return cells


async def write_export(db: Database, job: Job, out: Any, progress: Progress) -> int:
    """EVENTS_EXPORT as CSV or JSON; returns the number of rows written."""
    total = await export_count(db, job)
    zone = ZoneInfo(job.zone)
    done = 0
    if job.format == "CSV":
        await out.write(_csv_line(list(EXPORT_COLUMNS)).encode())
    else:
        header = msgspec.json.encode(_meta(job, total))
        await out.write(b'{"report":' + header + b',"events":[')
    async for rows in export_pages(db, job):
        records = [_export_record(row, zone) for row in rows]
        if job.format == "CSV":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerows(_csv_cells(record) for record in records)
            chunk = buffer.getvalue().encode()
        else:
            body = b",".join(msgspec.json.encode(record) for record in records)
            chunk = (b"," if done else b"") + body
        await out.write(chunk)
        done += len(rows)
        await progress(min(99, done * 100 // max(total, 1)))
    if job.format == "JSON":
        await out.write(b"]}")
    return done


def _meta(job: Job, rows: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": job.id,
        "type": job.type,
        "from": iso_ms(job.start),
        "to": iso_ms(job.end),
        "timezone": job.zone,
        "filters": msgspec.to_builtins(job.filters),
    }
    if rows is not None:
        meta["rows"] = rows
    return meta


# --- summaries -----------------------------------------------------------------------------


HOTSPOTS = 10
MAX_HOTSPOTS = 100


async def hotspots_with_ties(db: Database, scope: stats.Scope, limit: int = HOTSPOTS) -> Hotspots:
    """The `limit` locations with the most violations, and every location tied with the last of
    them (up to MAX_HOTSPOTS): a cut through a tie would rank one of equals above the other."""
    spots = await stats.hotspots(db, scope, limit + 1)
    if len(spots.hotspots) <= limit:
        return spots
    last = spots.hotspots[limit - 1].violations
    if spots.hotspots[limit].violations != last:
        return Hotspots(from_=spots.from_, to=spots.to, hotspots=spots.hotspots[:limit])
    wider = await stats.hotspots(db, scope, MAX_HOTSPOTS)
    return Hotspots(
        from_=wider.from_, to=wider.to, hotspots=[h for h in wider.hotspots if h.violations >= last]
    )


async def summary(db: Database, job: Job, now: int) -> tuple[Any, Hotspots | None]:
    """The statistics a summary report is made of (and, for violations, the hotspots)."""
    scope = _scope(job, now)
    group_by = job.filters.group_by
    if job.type == "VIOLATIONS_SUMMARY":
        return await stats.violation_stats(db, scope, group_by), await hotspots_with_ties(db, scope)
    if job.type == "TRAFFIC_VOLUME":
        return await stats.traffic_volume(db, scope, group_by), None
    return await stats.sensor_uptime(db, scope), None


def summary_csv(result: Any) -> tuple[bytes, int]:
    """A summary as CSV: one row per bucket (or per sensor for uptime)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if isinstance(result, ViolationStats):
        types = [t.type for t in result.by_type]
        writer.writerow(["label", "start", "end", "violations", "coverage", *types])
        for bucket in result.buckets:
            counts = {t.type: t.count for t in bucket.by_type}
            writer.writerow(
                [
                    bucket.label,
                    bucket.start,
                    bucket.end,
                    bucket.count,
                    _number(bucket.coverage),
                    *(counts.get(t, 0) for t in types),
                ]
            )
        writer.writerow(
            [
                "TOTAL",
                result.from_,
                result.to,
                result.total,
                _number(result.coverage),
                *(t.count for t in result.by_type),
            ]
        )
        rows = len(result.buckets)
    elif isinstance(result, TrafficVolume):
        writer.writerow(["label", "start", "end", "vehicles", "averageSpeedKmh", "coverage"])
        for item in result.buckets:
            writer.writerow(
                [
                    item.label,
                    item.start,
                    item.end,
                    item.count,
                    _number(item.average_speed_kmh),
                    _number(item.coverage),
                ]
            )
        writer.writerow(
            [
                "TOTAL",
                result.from_,
                result.to,
                result.total,
                _number(result.average_speed_kmh),
                _number(result.coverage),
            ]
        )
        rows = len(result.buckets)
    else:
        result = cast(UptimeReport, result)
        writer.writerow(
            [
                "sensorId",
                "name",
                "deviceId",
                "type",
                "status",
                "locationId",
                "uptime",
                "onlineHours",
                "observedHours",
                "statusChanges",
            ]
        )
        for sensor in result.sensors:
            writer.writerow(
                [
                    safe_cell(sensor.sensor_id),
                    safe_cell(sensor.name),
                    safe_cell(sensor.device_id),
                    sensor.type,
                    sensor.status,
                    safe_cell(sensor.location_id),
                    _number(sensor.uptime),
                    round(sensor.online_ms / 3_600_000, 3),
                    round(sensor.observed_ms / 3_600_000, 3),
                    sensor.status_changes,
                ]
            )
        rows = len(result.sensors)
    return buffer.getvalue().encode(), rows


def summary_json(job: Job, result: Any, spots: Hotspots | None) -> tuple[bytes, int]:
    document: dict[str, Any] = {"report": _meta(job), "summary": result}
    if spots is not None:
        document["hotspots"] = spots
    rows = len(result.sensors) if isinstance(result, UptimeReport) else len(result.buckets)
    return msgspec.json.encode(document), rows


async def write_report(db: Database, job: Job, path: Path, now: int, progress: Progress) -> int:
    """Produce the report's file at `path`; returns its row count."""
    async with await anyio.open_file(path, "wb") as out:
        if job.type == "EVENTS_EXPORT":
            return await write_export(db, job, out, progress)
        result, spots = await summary(db, job, now)
        await progress(50)
        if job.format == "CSV":
            data, rows = summary_csv(result)
        elif job.format == "JSON":
            data, rows = summary_json(job, result, spots)
        else:
            brand = await branding(db)
            data = await anyio.to_thread.run_sync(build_pdf, job, result, spots, now, brand)
            rows = len(result.sensors) if isinstance(result, UptimeReport) else len(result.buckets)
        await out.write(data)
        return rows
