"""The `reports` table: one row per generated report, which is also its background job.

States: QUEUED → RUNNING → READY | FAILED. A RUNNING row carries a lease (owner, until) that
its worker renews; every write a worker makes is conditioned on still holding the lease, so a
report deleted (or taken over) while running is never resurrected by a late write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from procedures.reports.schemas import Report, ReportFilters
from tvms.clock import iso_ms
from tvms.db import Database, Row

COLUMNS = (
    "id, type, format, status, progress, period_from, period_to, timezone, first_day_of_week, filters,"
    " created_by, created_at, updated_at, started_at, finished_at, attempts, lease_owner, lease_until,"
    " file_key, size_bytes, row_count, error"
)
EXTENSIONS = {"CSV": "csv", "JSON": "json", "PDF": "pdf"}
CONTENT_TYPES = {"CSV": "text/csv", "JSON": "application/json", "PDF": "application/pdf"}
MAX_ATTEMPTS = 3
ACTIVE = ("QUEUED", "RUNNING")


@dataclass(frozen=True, slots=True)
class Job:
    """What the worker needs to produce one report."""

    id: str
    type: str
    format: str
    start: int
    end: int
    zone: str
    first_day_of_week: int
    filters: ReportFilters
    created_by: str
    created_at: int
    attempts: int

    @property
    def key(self) -> str:
        return file_key(self.id, self.format, self.attempts)


def file_key(report_id: str, format: str, attempt: int = 1) -> str:
    """Where an attempt's file lives in storage: the documented `reports/{id}.{pdf|csv|json}` for
    the first attempt, `reports/{id}.attempt-{n}.{ext}` for a retry.

    The attempt in the key fences workers: one that lost its lease (stalled, then taken over)
    only ever writes or deletes its own attempt's object, never the one the new owner writes.
    """
    extension = EXTENSIONS[format]
    if attempt <= 1:
        return f"reports/{report_id}.{extension}"
    return f"reports/{report_id}.attempt-{attempt}.{extension}"


def attempt_keys(report_id: str, format: str, attempts: int) -> list[str]:
    """The keys attempts 1 to `attempts` write."""
    return [file_key(report_id, format, attempt) for attempt in range(1, attempts + 1)]


def download_filename(row: Row) -> str:
    """What the file saves as: report type, period (its first and last day, in the report's
    timezone) and format, e.g. `tvms-violations-2024-11-01_2024-11-30.pdf`."""
    zone = ZoneInfo(row["timezone"])
    first = datetime.fromtimestamp(row["period_from"] / 1000, zone).date()
    last = datetime.fromtimestamp(max(row["period_from"], row["period_to"] - 1) / 1000, zone).date()
    kind = str(row["type"]).lower().replace("_", "-")
    period = first.isoformat() if first == last else f"{first.isoformat()}_{last.isoformat()}"
    return f"tvms-{kind}-{period}.{EXTENSIONS[row['format']]}"


def decode_filters(text: str) -> ReportFilters:
    return msgspec.json.decode(text, type=ReportFilters)


def to_job(row: Row) -> Job:
    return Job(
        id=row["id"],
        type=row["type"],
        format=row["format"],
        start=row["period_from"],
        end=row["period_to"],
        zone=row["timezone"],
        first_day_of_week=row["first_day_of_week"],
        filters=decode_filters(row["filters"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        attempts=row["attempts"],
    )


def _iso(value: int | None) -> str | None:
    return None if value is None else iso_ms(value)


def to_report(row: Row) -> Report:
    return Report(
        id=row["id"],
        type=row["type"],
        format=row["format"],
        status=row["status"],
        progress=row["progress"],
        from_=iso_ms(row["period_from"]),
        to=iso_ms(row["period_to"]),
        timezone=row["timezone"],
        filters=decode_filters(row["filters"]),
        created_by=row["created_by"],
        created_at=iso_ms(row["created_at"]),
        started_at=_iso(row["started_at"]),
        finished_at=_iso(row["finished_at"]),
        size_bytes=row["size_bytes"],
        row_count=row["row_count"],
        error=row["error"],
        file_key=row["file_key"] if row["status"] == "READY" else None,
    )


async def fetch(db: Database, report_id: str) -> Row | None:
    return await db.fetchrow(f"SELECT {COLUMNS} FROM reports WHERE id = :id", {"id": report_id})


async def claim(db: Database, report_id: str, owner: str, now: int, lease_ms: int) -> bool:
    """Take a QUEUED job; False when another worker (or a delete) got there first."""
    taken = await db.execute(
        "UPDATE reports SET status = 'RUNNING', lease_owner = :owner, lease_until = :until,"
        " started_at = :now, updated_at = :now, attempts = attempts + 1, progress = 0, error = NULL"
        " WHERE id = :id AND status = 'QUEUED'",
        {"id": report_id, "owner": owner, "until": now + lease_ms, "now": now},
    )
    return taken == 1


async def queued_ids(db: Database, limit: int) -> list[str]:
    rows = await db.fetch(
        "SELECT id FROM reports WHERE status = 'QUEUED' ORDER BY created_at, id LIMIT :limit",
        {"limit": limit},
    )
    return [row["id"] for row in rows]


async def update_running(db: Database, report_id: str, owner: str, values: dict[str, Any]) -> bool:
    """Set columns of a job this worker still holds; False when it no longer does."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    changed = await db.execute(
        f"UPDATE reports SET {assignments} WHERE id = :id AND status = 'RUNNING' AND lease_owner = :owner",
        {**values, "id": report_id, "owner": owner},
    )
    return changed == 1


async def recover(db: Database, now: int) -> tuple[int, int]:
    """Jobs whose lease ran out (their worker stopped): queue them again, or FAIL them once they
    have used their attempts. Returns (requeued, failed)."""
    params = {"now": now, "max": MAX_ATTEMPTS}
    failed = await db.execute(
        "UPDATE reports SET status = 'FAILED', lease_owner = NULL, lease_until = NULL,"
        " finished_at = :now, updated_at = :now,"
        " error = 'Interrupted by a server restart too many times; please generate it again'"
        " WHERE status = 'RUNNING' AND lease_until < :now AND attempts >= :max",
        params,
    )
    requeued = await db.execute(
        "UPDATE reports SET status = 'QUEUED', lease_owner = NULL, lease_until = NULL, progress = 0,"
        " updated_at = :now WHERE status = 'RUNNING' AND lease_until < :now AND attempts < :max",
        params,
    )
    return requeued, failed


async def release(db: Database, report_id: str, owner: str, now: int) -> None:
    """Give a job back to the queue (graceful shutdown): the next start picks it up again."""
    await db.execute(
        "UPDATE reports SET status = 'QUEUED', lease_owner = NULL, lease_until = NULL, progress = 0,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = :now"
        " WHERE id = :id AND status = 'RUNNING' AND lease_owner = :owner",
        {"id": report_id, "owner": owner, "now": now},
    )
