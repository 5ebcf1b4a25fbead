"""Periodic work (the Api's hooks: the offline sweep, the report worker) once per cluster.

Every process of the service competes for one lock on the shared database; the holder runs the
hooks, the others try again every `RETRY_S` seconds, so the work moves to another process
within seconds when its holder stops or dies:
- PostgreSQL: a session-level advisory lock on a connection of its own, which the server
  releases when that connection ends (the process exited or was killed). The holder checks
  the connection at every round and stops its hooks if the lock may have been lost.
- SQLite (one host): an exclusive `flock` on a file beside the database, which the kernel
  releases when the process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

from tvms.rpc import Services

log = logging.getLogger("tvms.cluster")

Hook = Callable[[Services], AbstractAsyncContextManager[None]]

RETRY_S = 2.0
"""How often a process without the lock tries to take it, and the holder checks it still has it."""

ADVISORY_KEY = 0x7476_6D73_0001  # "tvms" + 1: the periodic-work lock, per database


class ClusterLock(Protocol):
    async def acquire(self) -> bool:
        """True when this process now holds the lock (False: another one does)."""

    async def held(self) -> bool:
        """Whether the lock is still surely ours."""

    async def release(self) -> None: ...


class FileLock:
    """An exclusive `flock` on a file (one host: SQLite)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, on a connection of its own."""

    def __init__(self, url: str, key: int = ADVISORY_KEY) -> None:
        self.url = url
        self.key = key
        self._conn: Any = None
        self._held = False

    async def acquire(self) -> bool:
        import asyncpg  # type: ignore[import-untyped]

        if self._conn is None:
            self._conn = await asyncpg.connect(self.url)
        got: bool = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key)
        self._held = got
        return got

    async def held(self) -> bool:
        try:
            await self._conn.fetchval("SELECT 1")
        except Exception:  # the connection broke: the server has released the lock
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Give the lock back (if held) and close the connection, also one that only tried."""
        if self._conn is not None and self._held:
            with contextlib.suppress(Exception):
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", self.key)
        await self._drop()

    async def _drop(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)


def cluster_lock(database_url: str) -> ClusterLock:
    """The lock that orders the processes sharing `database_url`."""
    if database_url.startswith(("postgresql://", "postgres://")):
        return AdvisoryLock(database_url)
    database = Path(database_url.removeprefix("sqlite:///"))
    return FileLock(database.with_name(database.name + ".periodic-lock"))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _try(lock: ClusterLock) -> bool:
    try:
        return await lock.acquire()
    except Exception:  # the database may be away; the next round tries again
        log.warning("periodic work: could not reach the cluster lock; retrying", exc_info=True)
        return False


async def _lead(
    lock: ClusterLock, hooks: Sequence[Hook], services: Services, stop: asyncio.Event, settled: asyncio.Event
) -> None:
    """Take the lock when free, run the hooks while holding it, release it at shutdown."""
    try:
        await _compete(lock, hooks, services, stop, settled)
    finally:
        await lock.release()  # also closes a connection that only ever tried


async def _compete(
    lock: ClusterLock, hooks: Sequence[Hook], services: Services, stop: asyncio.Event, settled: asyncio.Event
) -> None:
    while not stop.is_set():
        if not await _try(lock):
            settled.set()
            await _wait(stop, RETRY_S)
            continue
        log.info("periodic work: this process (pid %d) runs it", os.getpid())
        try:
            async with AsyncExitStack() as stack:
                for hook in hooks:
                    await stack.enter_async_context(hook(services))
                settled.set()
                while not stop.is_set():
                    await _wait(stop, RETRY_S)
                    if not stop.is_set() and not await lock.held():
                        log.warning("periodic work: lost the cluster lock; stopping it here")
                        break
        except Exception:
            log.exception("periodic work failed; retrying")
            settled.set()
            await _wait(stop, RETRY_S)
        finally:
            await lock.release()


@contextlib.asynccontextmanager
async def once_per_cluster(
    lock: ClusterLock, hooks: Sequence[Hook], services: Services
) -> AsyncIterator[None]:
    """Run `hooks` in whichever process holds `lock`. On entry, waits for the first attempt:
    when this process takes the lock, its hooks have started before the app serves."""
    if not hooks:
        yield
        return
    stop, settled = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_lead(lock, hooks, services, stop, settled), name="tvms-periodic-work")
    try:
        await settled.wait()
        yield
    finally:
        stop.set()
        await task
