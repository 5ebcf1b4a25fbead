"""The audit middleware: every mutation leaves a row with its actor, target and outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from procedures.audit.log import OK, record
from procedures.audit.refusals import record_refusal, write_summaries
from procedures.state import state_of
from tvms.rpc import Context, ErrorCode, Next, RpcError, Services

# Procedures that write their own, richer rows (auth.login records every attempt itself;
# devices.pollCommands records each delivery, not every idle poll).
SELF_AUDITED = frozenset({"auth.login", "devices.pollCommands"})


def _id_of(value: Any) -> str | None:
    """`value.id` when it is a non-empty string (a Struct, a dict or anything with `.id`)."""
    found = value.get("id") if isinstance(value, dict) else getattr(value, "id", None)
    return found if isinstance(found, str) and found else None


async def audit_middleware(ctx: Context, call_next: Next) -> Any:
    """Run the mutation, append an audit row whatever the outcome, then pass the outcome on.

    Registered as mutation middleware (`Api.mutation_middleware`), so queries never reach it.

    Target id: the input's `id` when it has one, else the result's. The row is written after
    the handler returns or raises, i.e. after its transaction committed or rolled back. Calls
    refused before the handler (no token, wrong role, invalid input) are recorded too; their
    input is decoded only once the caller is authorised, so such rows may have no target.
    Refusals of callers that are not signed in are aggregated per client and minute
    (`procedures.audit.refusals`).
    """
    if ctx.procedure.name in SELF_AUDITED:
        return await call_next(ctx)
    try:
        result = await call_next(ctx)
    except RpcError as exc:
        if ctx.principal is None:  # nobody verified: aggregated, so anonymous floods stay small
            await record_refusal(ctx, state_of(ctx.services).refusals, exc.code.name, _id_of(ctx.input))
        else:
            await record(ctx, outcome=exc.code.name, target_id=_id_of(ctx.input))
        raise
    except Exception:
        await record(ctx, outcome=ErrorCode.INTERNAL_SERVER_ERROR.name, target_id=_id_of(ctx.input))
        raise
    await record(ctx, outcome=OK, target_id=_id_of(ctx.input) or _id_of(result))
    return result


@asynccontextmanager
async def refusal_summaries(services: Services) -> AsyncIterator[None]:
    """Api hook: on shutdown, write the summaries of the refusal windows still open."""
    try:
        yield
    finally:
        await write_summaries(services.db, state_of(services).refusals)
