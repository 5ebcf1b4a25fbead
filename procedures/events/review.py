"""`events.review`: an operator confirms or rejects a pending violation, once.

The decision is kept in `event_reviews` (the event's history) and the audit middleware records
the call. A corrected plate goes to `corrected_plate`; the device's read in `plate` never changes.
"""

from __future__ import annotations

from procedures.events.access import REVIEWERS
from procedures.events.queries import event_row
from procedures.events.rows import EVENT_COLUMNS, event_from_row
from procedures.events.schemas import VIOLATION_TYPES, Event, ReviewInput
from tvms.ids import new_id
from tvms.rpc import Context, ErrorCode, Router, RpcError

router = Router("events")


@router.mutation("review", auth=REVIEWERS)
async def review(ctx: Context, input: ReviewInput) -> Event:
    """Confirm or reject a pending violation (REJECT needs a reason; CONFIRM may correct the plate).

    Only violation types are reviewed; a decided event answers CONFLICT.
    """
    if ctx.principal is None:
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    reviewer = ctx.principal.id
    now = ctx.clock.now_ms()
    to_status = "CONFIRMED" if input.decision == "CONFIRM" else "REJECTED"
    async with ctx.db.transaction() as tx:
        row = await tx.fetchrow(
            "SELECT id, type, plate, corrected_plate, review_status FROM events WHERE id = :id",
            {"id": input.id},
        )
        if row is None:
            raise RpcError(ErrorCode.NOT_FOUND, f"Event {input.id[:128]!r} not found")
        if row["type"] not in VIOLATION_TYPES:
            raise RpcError(
                ErrorCode.PRECONDITION_FAILED, f"{row['type']} events are not violations to review"
            )
        if row["review_status"] != "PENDING":
            raise RpcError(
                ErrorCode.CONFLICT, f"This violation was already {str(row['review_status']).lower()}"
            )
        # The status guard makes the second of two concurrent decisions update nothing.
        changed = await tx.execute(
            "UPDATE events SET review_status = :to_status, reviewed_at = :now, reviewed_by = :reviewer,"
            " corrected_plate = COALESCE(:corrected_plate, corrected_plate)"
            " WHERE id = :id AND review_status = 'PENDING'",
            {
                "to_status": to_status,
                "now": now,
                "reviewer": reviewer,
                "corrected_plate": input.corrected_plate,
                "id": input.id,
            },
        )
        if changed != 1:
            raise RpcError(ErrorCode.CONFLICT, "This violation was decided meanwhile")
        await tx.execute(
            "INSERT INTO event_reviews (id, event_id, decision, from_status, to_status, reason, comment,"
            " original_plate, corrected_plate, reviewer_id, reviewed_at)"
            " VALUES (:id, :event_id, :decision, 'PENDING', :to_status, :reason, :comment,"
            " :original_plate, :corrected_plate, :reviewer, :now)",
            {
                "id": new_id(),
                "event_id": input.id,
                "decision": input.decision,
                "to_status": to_status,
                "reason": input.reason,
                "comment": input.comment,
                "original_plate": row["plate"],
                "corrected_plate": input.corrected_plate,
                "reviewer": reviewer,
                "now": now,
            },
        )
        updated = await tx.fetchrow(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = :id", {"id": input.id})
    if updated is None:  # deleted between commit and read: report what the caller asked about
        return event_from_row(await event_row(ctx, input.id))
    return event_from_row(updated)
