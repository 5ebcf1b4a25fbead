"""Writing the append-only audit log: one row per mutation and per login attempt.

Rows are written with their own statement, never inside the caller's transaction, so a failed
mutation (rolled back) still leaves its audit row. Nothing in the service updates or deletes
audit rows.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from tvms.db import Database
from tvms.ids import new_id
from tvms.rpc import Context, Principal

log = logging.getLogger("tvms.audit")

OK = "OK"
MAX_TEXT = 200  # ids, names and addresses longer than this are cut: the log is not a data store


class Entry(msgspec.Struct, kw_only=True, frozen=True):
    """One audit row before it is written."""

    at: int
    procedure: str
    outcome: str
    actor_kind: str | None = None
    actor_id: str | None = None
    actor_role: str | None = None
    target_id: str | None = None
    request_id: str | None = None
    client_ip: str | None = None
    detail: dict[str, Any] | None = None


def _cut(value: str | None) -> str | None:
    return None if value is None else value[:MAX_TEXT]


async def write_entry(db: Database, entry: Entry) -> None:
    """Append one row (its own statement: never part of a caller's transaction)."""
    await db.execute(
        "INSERT INTO audit_log (id, at, actor_kind, actor_id, actor_role, procedure, target_id,"
        " outcome, request_id, client_ip, detail)"
        " VALUES (:id, :at, :actor_kind, :actor_id, :actor_role, :procedure, :target_id,"
        " :outcome, :request_id, :client_ip, :detail)",
        {
            "id": new_id(),
            "at": entry.at,
            "actor_kind": entry.actor_kind,
            "actor_id": _cut(entry.actor_id),
            "actor_role": _cut(entry.actor_role),
            "procedure": _cut(entry.procedure),
            "target_id": _cut(entry.target_id),
            "outcome": _cut(entry.outcome),
            "request_id": _cut(entry.request_id),
            "client_ip": _cut(entry.client_ip),
            "detail": None if entry.detail is None else msgspec.json.encode(entry.detail).decode(),
        },
    )


async def record(
    ctx: Context,
    *,
    outcome: str,
    target_id: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: Principal | None = None,
    procedure: str | None = None,
) -> None:
    """Append a row for the current call (actor: `actor`, else the call's principal).

    A failure to write is logged, not raised: the call's own outcome must not change because
    the audit table is unavailable, and its changes are already committed or rolled back.
    """
    who = actor if actor is not None else ctx.principal
    entry = Entry(
        at=ctx.clock.now_ms(),
        procedure=procedure or ctx.procedure.name,
        outcome=outcome,
        actor_kind=None if who is None else who.kind,
        actor_id=None if who is None else who.id,
        actor_role=None if who is None else who.role,
        target_id=target_id,
        request_id=ctx.request_id,
        client_ip=ctx.credentials.client,
        detail=detail,
    )
    try:
        await write_entry(ctx.db, entry)
    except Exception:
        log.exception(
            "could not write the audit row for %s",
            entry.procedure,
            extra={"fields": {"requestId": ctx.request_id}},
        )
