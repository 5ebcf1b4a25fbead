"""`reports.*`: analytics queries (VIEWER and up) and generated reports (OPERATOR and up)."""

from __future__ import annotations

import math
from datetime import datetime

import msgspec

from procedures.events.schemas import to_ms
from procedures.reports import jobs, stats
from procedures.reports.buckets import DAY_MS, TooManyBuckets, local_day_start
from procedures.reports.schemas import (
    DashboardStats,
    Deleted,
    DownloadUrl,
    GenerateInput,
    GenerateResult,
    Hotspots,
    HotspotsInput,
    IdInput,
    OptionalPeriodInput,
    PeriodInput,
    Report,
    ReportFilters,
    ReportPage,
    ReportsInput,
    SensorUptimeInput,
    TrafficVolume,
    TrafficVolumeInput,
    UptimeReport,
    ViolationStats,
    ViolationStatsInput,
)
from procedures.settings.catalog import BY_KEY
from procedures.settings.store import get_value
from procedures.state import state_of
from procedures.system.timezone import timezone_settings
from tvms.clock import iso_ms
from tvms.db import Row
from tvms.ids import new_id
from tvms.rpc import Context, ErrorCode, Router, RpcError, invalid_params, roles
from tvms.rpc.origin import absolute

reports = Router("reports")
READERS = roles("VIEWER", "OPERATOR", "ADMIN")
WRITERS = roles("OPERATOR", "ADMIN")

MAX_ANALYTICS_DAYS = 3 * 366  # summaries; the bucket limit (10,000) bounds hourly periods further
MAX_EXPORT_DAYS = 366  # detail exports
MAX_RUNNING_SETTING = "reports.maxRunningPerUser"
DEFAULT_MAX_RUNNING = 3


def _ms(moment: datetime) -> int:
    return to_ms(moment)


def _check_length(start: int, end: int, max_days: int, what: str) -> None:
    if end - start > max_days * DAY_MS:
        raise invalid_params("$.to", f"{what} cover at most {max_days} days; split the period")


async def _scope(
    ctx: Context,
    start: int,
    end: int,
    *,
    location_id: str | None = None,
    sensor_id: str | None = None,
    types: tuple[str, ...] = (),
) -> stats.Scope:
    settings = await timezone_settings(ctx)
    return stats.Scope(
        start=start,
        end=end,
        zone=settings.timezone,
        first_day_of_week=settings.first_day_of_week,
        now=ctx.clock.now_ms(),
        location_id=location_id,
        sensor_id=sensor_id,
        types=types,
    )


def _period(input: PeriodInput) -> tuple[int, int]:
    start, end = _ms(input.from_), _ms(input.to)
    _check_length(start, end, MAX_ANALYTICS_DAYS, "Statistics")
    return start, end


def _bucket_error() -> RpcError:
    return invalid_params(
        "$.groupBy", "the period holds too many buckets for this groupBy; use a coarser one"
    )


@reports.query("getDashboardStats", auth=READERS)
async def get_dashboard_stats(ctx: Context, input: OptionalPeriodInput) -> DashboardStats:
    """Headline figures: events, violations, pending reviews, sensors by state, coverage.

    The period defaults to today in the system time zone, up to now.
    """
    settings = await timezone_settings(ctx)
    now = ctx.clock.now_ms()
    end = _ms(input.to) if input.to is not None else now
    start = _ms(input.from_) if input.from_ is not None else local_day_start(end - 1, settings.timezone)
    if end <= start:
        raise invalid_params("$.from", "`from` must be before `to` (which defaults to now)")
    _check_length(start, end, MAX_ANALYTICS_DAYS, "Statistics")
    return await stats.dashboard(ctx.db, await _scope(ctx, start, end))


@reports.query("getViolationStats", auth=READERS)
async def get_violation_stats(ctx: Context, input: ViolationStatsInput) -> ViolationStats:
    """Violations per hour, day, week or month of the system time zone, with coverage.

    Buckets follow local time (23 or 25 hourly buckets on daylight-saving days; weeks start on
    `firstDayOfWeek`). Each count comes with the share of the bucket the detecting sensors in
    scope were ONLINE, so an offline camera never reads as "no violations". The total equals
    the number of violation events `events.getAll` returns for the same period and filters.
    """
    scope = await _scope(
        ctx, *_period(input), location_id=input.location_id, types=(input.type,) if input.type else ()
    )
    try:
        return await stats.violation_stats(ctx.db, scope, input.group_by)
    except TooManyBuckets:
        raise _bucket_error() from None


@reports.query("getTrafficVolume", auth=READERS)
async def get_traffic_volume(ctx: Context, input: TrafficVolumeInput) -> TrafficVolume:
    """Vehicles observed per local bucket, with average speed, vehicle classes and coverage.

    Every event type counts as a vehicle except ACCIDENT, CONGESTION, CAMERA_TAMPER and
    VIDEO_LOSS (incidents and device alarms).
    """
    scope = await _scope(ctx, *_period(input), location_id=input.location_id, sensor_id=input.sensor_id)
    try:
        return await stats.traffic_volume(ctx.db, scope, input.group_by)
    except TooManyBuckets:
        raise _bucket_error() from None


@reports.query("getHotspots", auth=READERS)
async def get_hotspots(ctx: Context, input: HotspotsInput) -> Hotspots:
    """The locations with the most violations in the period (at most `limit`), with coverage."""
    return await stats.hotspots(ctx.db, await _scope(ctx, *_period(input)), input.limit)


@reports.query("getSensorUptime", auth=READERS)
async def get_sensor_uptime(ctx: Context, input: SensorUptimeInput) -> UptimeReport:
    """Each detecting sensor's share of the period it was ONLINE, from its status history."""
    return await stats.sensor_uptime(ctx.db, await _scope(ctx, *_period(input)))


# --- generated reports ---------------------------------------------------------------------


async def _max_running(ctx: Context) -> int:
    # The setting is read when the catalog has it (the lead adds it); the default otherwise.
    if MAX_RUNNING_SETTING not in BY_KEY:
        return DEFAULT_MAX_RUNNING
    return int(await get_value(ctx, MAX_RUNNING_SETTING))


def _user(ctx: Context) -> str:
    if ctx.principal is None:  # the auth rule guarantees a user; this keeps the types honest
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return ctx.principal.id


def _visible(ctx: Context, row: Row | None, report_id: str) -> Row:
    """The report when the caller may see it: its owner, or an ADMIN. Others get NOT_FOUND."""
    principal = ctx.principal
    if row is None or principal is None or (principal.role != "ADMIN" and row["created_by"] != principal.id):
        raise RpcError(ErrorCode.NOT_FOUND, f"Report {report_id[:64]!r} not found")
    return row


@reports.mutation("generate", auth=WRITERS)
async def generate(ctx: Context, input: GenerateInput) -> GenerateResult:
    """Queue a report; it is produced in the background (`reports.getById` shows progress).

    Types: VIOLATIONS_SUMMARY, TRAFFIC_VOLUME, SENSOR_UPTIME (CSV, JSON or PDF) and
    EVENTS_EXPORT (every event of the period, CSV or JSON, at most 366 days). A user may have
    at most `reports.maxRunningPerUser` (default 3) reports queued or running at once.
    """
    start, end = _ms(input.from_), _ms(input.to)
    filters = input.filters or ReportFilters()
    if input.type == "EVENTS_EXPORT":
        if input.format == "PDF":
            raise invalid_params("$.format", "EVENTS_EXPORT is produced as CSV or JSON, not PDF")
        _check_length(start, end, MAX_EXPORT_DAYS, "Event exports")
    else:
        _check_length(start, end, MAX_ANALYTICS_DAYS, "Summary reports")
        if filters.review_status is not None:
            raise invalid_params("$.filters.reviewStatus", "reviewStatus applies to EVENTS_EXPORT only")
    settings = await timezone_settings(ctx)
    if input.type != "EVENTS_EXPORT" and input.type != "SENSOR_UPTIME":
        try:
            stats.period_buckets(
                stats.Scope(start, end, settings.timezone, settings.first_day_of_week, 0), filters.group_by
            )
        except TooManyBuckets:
            raise _bucket_error() from None
    user = _user(ctx)
    limit = await _max_running(ctx)
    report_id = new_id()
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        if ctx.db.engine == "postgresql":
            # Serialise this user's generate calls so two at once cannot both pass the limit;
            # SQLite has a single writer, which already does.
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext(:user))", {"user": "reports:" + user})
        active = await tx.fetchval(
            "SELECT count(*) FROM reports WHERE created_by = :user AND status IN ('QUEUED', 'RUNNING')",
            {"user": user},
        )
        if int(active) >= limit:
            raise RpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"You already have {active} reports queued or running (limit {limit}); "
                "wait for one to finish",
            )
        await tx.execute(
            "INSERT INTO reports (id, type, format, status, progress, period_from, period_to, timezone,"
            " first_day_of_week, filters, created_by, created_at, updated_at, attempts)"
            " VALUES (:id, :type, :format, 'QUEUED', 0, :start, :end, :zone, :first_day, :filters, :user,"
            " :now, :now, 0)",
            {
                "id": report_id,
                "type": input.type,
                "format": input.format,
                "start": start,
                "end": end,
                "zone": settings.timezone,
                "first_day": settings.first_day_of_week,
                "filters": msgspec.json.encode(filters).decode(),
                "user": user,
                "now": now,
            },
        )
    worker = state_of(ctx.services).report_worker
    if worker is not None:
        worker.wake()
    return GenerateResult(id=report_id, status="QUEUED")


@reports.query("getAll", auth=WRITERS)
async def get_all(ctx: Context, input: ReportsInput) -> ReportPage:
    """Your reports, newest first (an ADMIN sees everyone's), optionally by status or type."""
    where = ["1 = 1"]
    params: dict[str, object] = {"skip": input.skip, "take": input.take}
    if ctx.principal is None or ctx.principal.role != "ADMIN":
        where.append("created_by = :user")
        params["user"] = _user(ctx)
    if input.status is not None:
        where.append("status = :status")
        params["status"] = input.status
    if input.type is not None:
        where.append("type = :type")
        params["type"] = input.type
    condition = " AND ".join(where)
    total = int(await ctx.db.fetchval(f"SELECT count(*) FROM reports WHERE {condition}", params) or 0)
    rows = await ctx.db.fetch(
        f"SELECT {jobs.COLUMNS} FROM reports WHERE {condition}"
        " ORDER BY created_at DESC, id DESC LIMIT :take OFFSET :skip",
        params,
    )
    return ReportPage(
        reports=[jobs.to_report(row) for row in rows], total=total, page_count=math.ceil(total / input.take)
    )


@reports.query("getById", auth=WRITERS)
async def get_by_id(ctx: Context, input: IdInput) -> Report:
    """One report: its status, progress (percent), and when READY its size and row count."""
    return jobs.to_report(_visible(ctx, await jobs.fetch(ctx.db, input.id), input.id))


@reports.query("getDownloadUrl", auth=WRITERS)
async def get_download_url(ctx: Context, input: IdInput) -> DownloadUrl:
    """A short-lived signed, absolute URL for a READY report's file.

    The download is sent as an attachment named for the report's type, period and format
    (e.g. `tvms-violations-2024-11-01_2024-11-30.pdf`).
    """
    row = _visible(ctx, await jobs.fetch(ctx.db, input.id), input.id)
    if row["status"] != "READY" or row["file_key"] is None:
        raise RpcError(
            ErrorCode.PRECONDITION_FAILED,
            f"Report {input.id!r} is {row['status']}; a file exists once it is READY",
        )
    signed = await ctx.storage.presign_get(row["file_key"], filename=jobs.download_filename(row))
    return DownloadUrl(url=absolute(signed.url, ctx.base_url), expires_at=iso_ms(signed.expires_at_ms))


@reports.mutation("delete", auth=WRITERS)
async def delete(ctx: Context, input: IdInput) -> Deleted:
    """Delete a report and its file; a running one stops at its next step."""
    row = _visible(ctx, await jobs.fetch(ctx.db, input.id), input.id)
    await ctx.db.execute("DELETE FROM reports WHERE id = :id", {"id": input.id})
    # After the row: a failure here leaves an orphan file, never a row pointing at nothing.
    for key in jobs.attempt_keys(input.id, row["format"], max(row["attempts"], 1)):
        await ctx.storage.delete(key)
    return Deleted(id=input.id, deleted=True)
