"""Refusals of unauthenticated callers, aggregated: one audit row per client, outcome and minute.

A caller without valid credentials is refused before anything is written, and an anonymous
batch of 100 mutations would otherwise write 100 rows: the audit log would grow as fast as
anyone can send. So the first refusal of a client (network address) with an outcome in each
minute is written as usual, and the next ones in that minute are only counted. The count is
written as one summary row (procedure of the first refusal, `detail.refusals` = how many were
not written one by one, `detail.procedures` = how many per procedure) by the first refusal of
a later minute, or when the process stops. Together with the rate limit on anonymous calls
(`tvms.ratelimit`), this bounds the rows any client can cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from procedures.audit.log import Entry, record, write_entry
from tvms.clock import iso_ms
from tvms.db import Database
from tvms.rpc import Context

WINDOW_MS = 60_000
MAX_TRACKED = 10_000  # clients tracked at once; older windows are written out beyond that


@dataclass(slots=True)
class _Window:
    start: int
    client: str | None
    outcome: str
    procedure: str
    suppressed: dict[str, int] = field(default_factory=dict)  # procedure → refusals not written


class Refusals:
    """This process's open windows of unauthenticated refusals (`ApiState.refusals`)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str | None, str], _Window] = {}

    def take_closed(self, now: int) -> list[_Window]:
        """Remove and return the windows that ended before `now` and have uncounted refusals."""
        closed = [w for w in self.windows.values() if w.start + WINDOW_MS <= now]
        for window in closed:
            del self.windows[(window.client, window.outcome)]
        return [w for w in closed if w.suppressed]


def _summary(window: _Window) -> Entry:
    return Entry(
        at=window.start + WINDOW_MS - 1,
        procedure=window.procedure,
        outcome=window.outcome,
        client_ip=window.client,
        detail={
            "refusals": sum(window.suppressed.values()),
            "procedures": dict(sorted(window.suppressed.items())),
            "from": iso_ms(window.start),
            "to": iso_ms(window.start + WINDOW_MS),
        },
    )


async def record_refusal(ctx: Context, refusals: Refusals, outcome: str, target_id: str | None) -> None:
    """Audit one refused call of an unauthenticated caller (written, or counted for the summary)."""
    now = ctx.clock.now_ms()
    start = now - now % WINDOW_MS
    client = ctx.credentials.client
    key = (client, outcome)
    window = refusals.windows.get(key)
    if window is not None and window.start == start:
        name = ctx.procedure.name
        window.suppressed[name] = window.suppressed.get(name, 0) + 1
        return
    if window is not None or len(refusals.windows) >= MAX_TRACKED:
        for closed in refusals.take_closed(now if window is None else start + 1):
            await write_entry(ctx.db, _summary(closed))
    refusals.windows[key] = _Window(start, client, outcome, ctx.procedure.name)
    await record(ctx, outcome=outcome, target_id=target_id)


async def write_summaries(db: Database, refusals: Refusals) -> None:
    """Write the summaries of the windows still open (on shutdown: `refusal_summaries`)."""
    for window in refusals.take_closed(2**62):
        await write_entry(db, _summary(window))
