"""Whether this process can serve: the database and the object store both answer.

`/readyz` (what a load balancer polls) and the `system.health` procedure share one verdict per
process, cached for `TTL_S`, so polling every second costs at most one probe of each a second.
Each probe is bounded by `PROBE_TIMEOUT_S`: a black-holed endpoint makes the replica not ready
instead of hanging the poll. A change of verdict is logged once, with the reason (the server log
may say why; clients never see exception text).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tvms.db import Database
    from tvms.storage.base import Storage

log = logging.getLogger("tvms.readiness")

TTL_S = 1.0
PROBE_TIMEOUT_S = 5.0  # above the S3 client's own retries, so their last error is the reason


@dataclass(frozen=True, slots=True)
class Probe:
    ok: bool
    latency_ms: float
    reason: str | None = None
    """Why it failed, for the server log only."""


@dataclass(frozen=True, slots=True)
class Verdict:
    database: Probe
    storage: Probe
    at: float

    @property
    def ready(self) -> bool:
        return self.database.ok and self.storage.ok

    def checks(self) -> tuple[tuple[str, Probe], ...]:
        return (("database", self.database), ("storage", self.storage))

    def failing(self) -> list[str]:
        return [name for name, probe in self.checks() if not probe.ok]


def _reason(exc: BaseException) -> str:
    """The exception and its causes in one line: `StorageError: … <- EndpointConnectionError: …`."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = str(seen).splitlines()[0] if str(seen) else ""
        parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


async def _probe(check: Callable[[], Awaitable[object]], limit_s: float) -> Probe:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_s):
            await check()
        reason = None
    except TimeoutError:
        reason = f"no answer within {limit_s:g} s"
    except Exception as exc:  # a probe reports failure; it never raises
        reason = _reason(exc)
    return Probe(reason is None, round((time.perf_counter() - started) * 1000, 3), reason)


class Readiness:
    """One process's readiness, probed at most once per `ttl` seconds (`Services.readiness`)."""

    def __init__(
        self, db: Database, storage: Storage, *, ttl: float = TTL_S, timeout: float = PROBE_TIMEOUT_S
    ) -> None:
        self.db = db
        self.storage = storage
        self.ttl = ttl
        self.timeout = timeout
        self._last: Verdict | None = None
        self._lock = asyncio.Lock()
        self._logged: tuple[str, ...] | None = None  # the failing set last logged; None: nothing yet

    async def verdict(self) -> Verdict:
        last = self._last
        if last is not None and (time.monotonic() - last.at < self.ttl or self._lock.locked()):
            return last  # fresh enough, or a probe is under way: polls never queue behind it
        async with self._lock:  # concurrent first polls share one probe
            last = self._last
            if last is not None and time.monotonic() - last.at < self.ttl:
                return last
            database, storage = await asyncio.gather(
                _probe(self.db.ping, self.timeout),
                _probe(self.storage.check, self.timeout),
            )
            self._last = verdict = Verdict(database, storage, time.monotonic())
            self._log_change(verdict)
            return verdict

    def _log_change(self, verdict: Verdict) -> None:
        failing = tuple(verdict.failing())
        if failing == self._logged or (self._logged is None and not failing):
            self._logged = failing
            return
        self._logged = failing
        if not failing:
            log.warning("ready again: the database and storage answer", extra={"fields": {"ready": True}})
            return
        reasons = {name: probe.reason for name, probe in verdict.checks() if not probe.ok}
        log.error(
            "not ready: %s unavailable",
            " and ".join(failing),
            extra={"fields": {"ready": False, "failing": list(failing), "reasons": reasons}},
        )
