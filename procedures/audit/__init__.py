"""`audit.*`: the append-only audit log of every mutation and login attempt (ADMIN only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from procedures.audit.log import Entry, record, write_entry
from procedures.audit.middleware import SELF_AUDITED, audit_middleware, refusal_summaries
from procedures.paging import like_escape, page_count
from procedures.schemas import Input, IsoTime, Output
from tvms.clock import iso_ms
from tvms.rpc import Context, Router, invalid_params, roles

audit = Router("audit")

__all__ = [
    "SELF_AUDITED",
    "Entry",
    "audit",
    "audit_middleware",
    "record",
    "refusal_summaries",
    "write_entry",
]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AuditGetAllInput(Input):
    skip: Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)] = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50
    actor: Text | None = None
    procedure: Text | None = None
    outcome: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Z_]+$(?!\n)")] | None = (
        None
    )
    target_id: Text | None = None
    from_: datetime | None = msgspec.field(default=None, name="from")
    to: datetime | None = None
    sort_order: Literal["asc", "desc"] = "desc"

    def __post_init__(self) -> None:
        for moment in (self.from_, self.to):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("`from` and `to` need a time zone (e.g. 2024-11-15T12:00:00Z)")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("`from` must not be after `to`")


class AuditEntry(Output):
    id: str
    at: IsoTime
    actor_kind: Literal["user", "device"] | None
    actor_id: str | None
    actor_role: str | None
    procedure: str
    target_id: str | None
    outcome: str
    request_id: str | None
    client_ip: str | None
    detail: dict[str, Any] | None


class AuditPage(Output):
    entries: list[AuditEntry]
    total: int
    page_count: int


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@audit.query("getAll", auth=roles("ADMIN"))
async def get_all(ctx: Context, input: AuditGetAllInput) -> AuditPage:
    """Audit entries, newest first by default, filtered by actor, procedure, outcome and time.

    `procedure` ending in `.` or `*` matches a prefix (`users.` → every users.* call);
    `outcome` is `OK` or an error code name such as `FORBIDDEN`; `from`/`to` are inclusive.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    if input.actor is not None:
        where.append("actor_id = :actor")
        params["actor"] = input.actor
    if input.procedure is not None:
        name = input.procedure.rstrip("*")
        if name != input.procedure or name.endswith("."):
            if not name:
                raise invalid_params("$.procedure", "give a procedure name or prefix")
            where.append("procedure LIKE :procedure ESCAPE '\\'")
            params["procedure"] = like_escape(name) + "%"
        else:
            where.append("procedure = :procedure")
            params["procedure"] = name
    if input.outcome is not None:
        where.append("outcome = :outcome")
        params["outcome"] = input.outcome
    if input.target_id is not None:
        where.append("target_id = :target_id")
        params["target_id"] = input.target_id
    if input.from_ is not None:
        where.append("at >= :from_ms")
        params["from_ms"] = _ms(input.from_)
    if input.to is not None:
        where.append("at <= :to_ms")
        params["to_ms"] = _ms(input.to)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    order = "DESC" if input.sort_order == "desc" else "ASC"
    total = int(await ctx.db.fetchval("SELECT COUNT(*) FROM audit_log" + clause, params) or 0)
    rows = await ctx.db.fetch(
        "SELECT id, at, actor_kind, actor_id, actor_role, procedure, target_id, outcome, request_id,"
        " client_ip, detail FROM audit_log"
        + clause
        + f" ORDER BY at {order}, id {order} LIMIT :take OFFSET :skip",
        {**params, "take": input.take, "skip": input.skip},
    )
    entries = [
        AuditEntry(
            id=row["id"],
            at=iso_ms(row["at"]),
            actor_kind=row["actor_kind"],
            actor_id=row["actor_id"],
            actor_role=row["actor_role"],
            procedure=row["procedure"],
            target_id=row["target_id"],
            outcome=row["outcome"],
            request_id=row["request_id"],
            client_ip=row["client_ip"],
            detail=None if row["detail"] is None else msgspec.json.decode(row["detail"]),
        )
        for row in rows
    ]
    return AuditPage(entries=entries, total=total, page_count=page_count(total, input.take))
