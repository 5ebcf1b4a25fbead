"""The count behind the rate limit (`tvms.ratelimit`): one `RateLimiter` per app, made by the
lifespan when `TVMS_RATE_LIMIT` is above 0 and kept in `Services.rate_limiter`.

Across processes: each process counts in memory and adds its counts to `rate_limit_hits` (one
upsert that returns the shared total) when a tenth of the limit has built up or a second has
passed, so a process learns what the others counted at its next write. A client can therefore
exceed the limit by at most a tenth of it per process before every process refuses it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from tvms.db import Database

log = logging.getLogger("tvms.ratelimit")

SYNC_EVERY_MS = 1000
_UPSERT = (
    "INSERT INTO rate_limit_hits (client, window_start, hits) VALUES (:client, :window, :hits)"
    " ON CONFLICT (client, window_start) DO UPDATE SET hits = rate_limit_hits.hits + excluded.hits"
    " RETURNING hits"
)


@dataclass(slots=True)
class _Count:
    window: int  # start of the window, epoch ms
    shared: int = 0  # the total all processes had written at our last write
    pending: int = 0  # counted here, not written yet
    synced_at: int = 0
    syncing: bool = False


@dataclass(slots=True)
class RateLimiter:
    """One process's side of the shared limit."""

    db: Database
    limit: int
    window_ms: int
    counts: dict[str, _Count] = field(default_factory=dict)
    blocked: dict[str, int] = field(default_factory=dict)  # client → end of its window, epoch ms
    swept_window: int = 0

    def retry_after(self, client: str, now: int) -> int | None:
        """Seconds until `client` may call again, or None when it is not refused."""
        until = self.blocked.get(client)
        if until is None:
            return None
        if now >= until:
            del self.blocked[client]
            return None
        return max(1, math.ceil((until - now) / 1000))

    async def count(self, client: str, now: int) -> None:
        """One anonymous or failed call of `client`."""
        window = now - now % self.window_ms
        entry = self.counts.get(client)
        if entry is None or entry.window != window:
            if entry is None and len(self.counts) >= 10_000:
                self._forget_before(window)
            # The first write waits for a tenth of the limit or a second: a few anonymous calls
            # (a console's first page) touch no database, and a flood costs one write a second.
            entry = self.counts[client] = _Count(window, synced_at=now)
        entry.pending += 1
        self._judge(client, entry)
        step = max(1, self.limit // 10)
        if entry.syncing or (entry.pending < step and now - entry.synced_at < SYNC_EVERY_MS):
            return
        entry.syncing = True
        written = entry.pending
        try:
            async with self.db.transaction() as tx:
                total = await tx.fetchval(_UPSERT, {"client": client, "window": window, "hits": written})
                if window > self.swept_window:  # once per window and process: drop past windows
                    await tx.execute(
                        "DELETE FROM rate_limit_hits WHERE window_start < :window", {"window": window}
                    )
            self.swept_window = max(self.swept_window, window)
            entry.shared = int(total)
            entry.pending -= written
            entry.synced_at = now
        except Exception:  # the limit must never turn a call into an internal error
            log.exception("could not share the rate-limit count of %s", client)
        finally:
            entry.syncing = False
        self._judge(client, entry)

    def _judge(self, client: str, entry: _Count) -> None:
        if entry.shared + entry.pending >= self.limit:  # the limit-th call was the last one served
            self.blocked[client] = entry.window + self.window_ms

    def _forget_before(self, window: int) -> None:
        for client in [c for c, entry in self.counts.items() if entry.window < window]:
            del self.counts[client]
