"""`events.getAll` (keyset pagination, newest first), `events.getById`, `events.getHistory`."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import msgspec

from procedures.events.rows import (
    EVENT_COLUMNS,
    EVIDENCE_COLUMNS,
    detail_from_row,
    event_from_row,
    evidence_from_row,
)
from procedures.events.schemas import (
    ById,
    EventDetail,
    EventPage,
    Evidence,
    GetAllInput,
    ReviewEntry,
    to_ms,
)
from tvms.clock import iso_ms
from tvms.db import Row
from tvms.rpc import USER, Context, ErrorCode, Router, RpcError, invalid_params
from tvms.rpc.origin import absolute

router = Router("events")

# A cursor is client input: bounded like any other (an integer beyond 64 bits, or a NUL in the
# id, would fail in the database instead of being refused here).
_cursor_decoder = msgspec.json.Decoder(
    tuple[
        Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)],
        Annotated[str, msgspec.Meta(max_length=200, pattern="^[^\\x00]*$")],
    ]
)


def encode_cursor(occurred_at: int, event_id: str) -> str:
    """Opaque to clients: base64url of the last row's (occurredAt ms, id)."""
    return base64.urlsafe_b64encode(msgspec.json.encode((occurred_at, event_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        return _cursor_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise invalid_params("$.cursor", "Invalid cursor: pass back a nextCursor unchanged") from None


def _where(input: GetAllInput) -> tuple[list[str], dict[str, Any]]:
    """Every filter but `types` (see `select_page`), as AND-ed clauses and their parameters."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if input.from_ is not None:
        clauses.append("occurred_at >= :from_ms")
        params["from_ms"] = to_ms(input.from_)
    if input.to is not None:
        clauses.append("occurred_at <= :to_ms")
        params["to_ms"] = to_ms(input.to)
    if input.sensor_id is not None:
        clauses.append("sensor_id = :sensor_id")
        params["sensor_id"] = input.sensor_id
    if input.location_id is not None:
        clauses.append("location_id = :location_id")
        params["location_id"] = input.location_id
    if input.plate is not None:
        clauses.append("(plate = :plate OR corrected_plate = :plate)")
        params["plate"] = input.plate
    if input.review_status is not None:
        clauses.append("review_status = :review_status")
        params["review_status"] = input.review_status
    if input.cursor is not None:
        at, last_id = decode_cursor(input.cursor)
        # Written so both engines use the (…, occurred_at, id) indexes as a range.
        clauses.append("occurred_at <= :c_at AND (occurred_at < :c_at OR id < :c_id)")
        params["c_at"], params["c_id"] = at, last_id
    return clauses, params


_ORDER = " ORDER BY occurred_at DESC, id DESC LIMIT :limit"


def select_page(input: GetAllInput, columns: str = EVENT_COLUMNS) -> tuple[str, dict[str, Any]]:
    """The SELECT for one page (`take + 1` rows, to know whether there is a next one).

    Several types: one branch per type, each reading at most `take + 1` rows backwards from a
    `(…, type, occurred_at, id)` index, merged and cut to the page. `type IN (…)` with ORDER BY
    would make both engines collect and sort every matching row (tens of thousands per page).
    """
    clauses, params = _where(input)
    params["limit"] = input.take + 1
    types = sorted(set(input.types)) if input.types is not None else []
    if len(types) <= 1:
        if types:
            clauses.append("type = :t0")
            params["t0"] = types[0]
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return f"SELECT {columns} FROM events{where}{_ORDER}", params
    branches = []
    for n, type in enumerate(types):
        params[f"t{n}"] = type
        where = " AND ".join([*clauses, f"type = :t{n}"])
        branches.append(f"SELECT * FROM (SELECT {columns} FROM events WHERE {where}{_ORDER}) AS b{n}")
    return f"SELECT {columns} FROM (" + " UNION ALL ".join(branches) + f") AS page{_ORDER}", params


@router.query("getAll", auth=USER)
async def get_all(ctx: Context, input: GetAllInput) -> EventPage:
    """Traffic events, newest first, `take` at a time; pass `nextCursor` back for the next page.

    Keyset pagination on (occurredAt, id): pages never overlap or skip an event, also while new
    events arrive. Filters: time range, types, sensor, location, plate (read or corrected) and
    review status.
    """
    sql, params = select_page(input)
    rows = await ctx.db.fetch(sql, params)
    more = len(rows) > input.take
    rows = rows[: input.take]
    next_cursor = encode_cursor(rows[-1]["occurred_at"], rows[-1]["id"]) if more else None
    return EventPage(events=[event_from_row(row) for row in rows], next_cursor=next_cursor)


async def event_row(ctx: Context, event_id: str) -> Row:
    row = await ctx.db.fetchrow(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = :id", {"id": event_id})
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Event {event_id[:128]!r} not found")
    return row


async def evidence_list(ctx: Context, event_id: str) -> list[Evidence]:
    """The event's evidence; download URLs only for VERIFIED items."""
    rows = await ctx.db.fetch(
        f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE event_id = :id ORDER BY kind",
        {"id": event_id},
    )
    items = []
    for row in rows:
        if row["state"] == "VERIFIED":
            signed = await ctx.storage.presign_get(row["object_key"])
            url = absolute(signed.url, ctx.base_url)
            items.append(evidence_from_row(row, url, iso_ms(signed.expires_at_ms)))
        else:
            items.append(evidence_from_row(row))
    return items


@router.query("getById", auth=USER)
async def get_by_id(ctx: Context, input: ById) -> EventDetail:
    """One event with its evidence (kind, size, SHA-256, and a download URL once verified)."""
    row = await event_row(ctx, input.id)
    return detail_from_row(row, await evidence_list(ctx, input.id))


@router.query("getHistory", auth=USER)
async def get_history(ctx: Context, input: ById) -> list[ReviewEntry]:
    """Every review decision on the event, oldest first: who, when, what and why."""
    await event_row(ctx, input.id)
    rows = await ctx.db.fetch(
        "SELECT id, event_id, decision, from_status, to_status, reason, comment, original_plate,"
        " corrected_plate, reviewer_id, reviewed_at FROM event_reviews WHERE event_id = :id"
        " ORDER BY reviewed_at, id",
        {"id": input.id},
    )
    return [
        ReviewEntry(
            id=row["id"],
            event_id=row["event_id"],
            decision=row["decision"],
            from_status=row["from_status"],
            to_status=row["to_status"],
            reason=row["reason"],
            comment=row["comment"],
            original_plate=row["original_plate"],
            corrected_plate=row["corrected_plate"],
            reviewer_id=row["reviewer_id"],
            reviewed_at=iso_ms(row["reviewed_at"]),
        )
        for row in rows
    ]
