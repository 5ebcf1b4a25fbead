"""How much the store holds per top-level folder: a walk over every object, shared and reused.

Files reach the store through signed URLs, straight from the client, so only a walk sees real
usage. One walk runs at a time per process (concurrent callers wait for the same one), and its
result is reused for 5 s or ten times as long as the walk took, whichever is longer. Polling
`storage.getStats`, a public procedure, can therefore never keep the store busy with walks for
more than about a tenth of the time, however large the store or however many the callers.
"""

from __future__ import annotations

import asyncio

from tvms.clock import Clock
from tvms.storage import Storage

LAYOUT = ("events", "violations", "reports", "sensors")
MIN_FRESH_S = 5.0
WALK_SHARE = 10  # a result lives at least this many times as long as its walk took

# Top-level folder → (bytes, files, newest modification in epoch ms).
Totals = dict[str, tuple[int, int, int | None]]


async def walk(storage: Storage) -> Totals:
    """Usage per top-level folder over every object (the documented folders always present)."""
    totals: Totals = {name: (0, 0, None) for name in LAYOUT}
    cursor = None
    while True:
        page = await storage.list("", cursor, limit=1000)
        for item in page.items:
            folder = item.key.split("/", 1)[0]
            size, count, newest = totals.get(folder, (0, 0, None))
            latest = item.last_modified_ms if newest is None else max(newest, item.last_modified_ms)
            totals[folder] = (size + item.size, count + 1, latest)
        if page.next_cursor is None:
            return totals
        cursor = page.next_cursor


class Usage:
    """The latest walk's totals, when they are still fresh enough, and the walk in progress.

    One per app (`ApiState.usage`)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._totals: Totals | None = None
        self._fresh_until = 0.0  # clock.monotonic()
        self._walk: asyncio.Future[Totals] | None = None
        self.walks = 0  # walks started (for tests and diagnostics)

    async def get(self) -> Totals:
        if self._totals is not None and self._clock.monotonic() < self._fresh_until:
            return self._totals
        if self._walk is None:
            self._walk = asyncio.ensure_future(self._refresh())
            # Retrieved even if every waiter was cancelled: no "exception never retrieved".
            self._walk.add_done_callback(lambda done: done.cancelled() or done.exception())
        # A caller that gives up (a timeout) does not cancel the walk the others wait for.
        return await asyncio.shield(self._walk)

    async def _refresh(self) -> Totals:
        self.walks += 1
        started = self._clock.monotonic()
        try:
            totals = await walk(self._storage)
        finally:
            self._walk = None
        ended = self._clock.monotonic()
        self._totals = totals
        self._fresh_until = ended + max(MIN_FRESH_S, WALK_SHARE * (ended - started))
        return totals

    def forget(self) -> None:
        """After a write through this process: the next call walks again."""
        self._fresh_until = 0.0
