"""A per-client limit on anonymous and failed calls, shared by every process through the database.

What counts: every call made without a verified principal (anonymous, or with credentials
that did not verify) and every call that failed, whoever made it. Successful calls of signed-in
users and devices cost nothing here: no counting, no database access. The client is the caller's
principal when it has one, else its network address. Over `limit` counted calls in a fixed
window of `window_s` seconds, that client's calls are refused with TOO_MANY_REQUESTS
(`error.data.retryAfter`: seconds until the window ends) until the window ends.

Across processes: each process counts in memory and adds its counts to `rate_limit_hits` (one
upsert that returns the shared total) when a tenth of the limit has built up or a second has
passed, so a process learns what the others counted at its next write. A client can therefore
exceed the limit by at most a tenth of it per process before every process refuses it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from tvms.db import Database
from tvms.rpc import Context, ErrorCode, Next, RpcError, Services

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


def limiter_of(services: Services) -> RateLimiter | None:
    """This app's limiter, or None when the limit is off (`TVMS_RATE_LIMIT=0`)."""
    config = services.config
    if config.rate_limit <= 0:
        return None
    return services.extra(
        "ratelimit",
        lambda: RateLimiter(services.db, config.rate_limit, int(config.rate_limit_window_s * 1000)),
        RateLimiter,
    )


def client_of(ctx: Context) -> str:
    """Whom a call is counted against: its verified principal, else its network address."""
    principal = ctx.principal
    if principal is not None:
        return f"{principal.kind}:{principal.id}"
    return f"address:{ctx.credentials.client or 'unknown'}"


async def rate_limit(ctx: Context, call_next: Next) -> Any:
    """Middleware (for every call, outermost): refuse clients over the limit, count the rest.

    While nobody is refused in this process the check before the call costs one dict test;
    only then are the caller's credentials verified early, to tell whom the call belongs to.
    A successful call by a verified caller is not counted (credentials a public procedure did
    not need are verified after it, once per request, to tell).
    """
    limiter = limiter_of(ctx.services)
    if limiter is None:
        return await call_next(ctx)
    if limiter.blocked:
        if _presents_credentials(ctx):
            with contextlib.suppress(RpcError):  # invalid credentials: counted against the address
                await ctx.resolve_principal()
        wait = limiter.retry_after(client_of(ctx), ctx.clock.now_ms())
        if wait is not None:
            raise RpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"Too many anonymous or failed calls from this client; try again in {wait} s",
                retryAfter=wait,
            )
    try:
        result = await call_next(ctx)
    except Exception:
        await limiter.count(client_of(ctx), ctx.clock.now_ms())
        raise
    if ctx.principal is None:
        if _presents_credentials(ctx):  # a public procedure: verify them now (once per request)
            with contextlib.suppress(RpcError):
                await ctx.resolve_principal()
        if ctx.principal is None:
            await limiter.count(client_of(ctx), ctx.clock.now_ms())
    return result


def _presents_credentials(ctx: Context) -> bool:
    return ctx.credentials.bearer is not None or ctx.credentials.api_key is not None
