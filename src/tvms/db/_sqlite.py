"""SQLite driver on aiosqlite: one writer connection behind an asyncio.Lock plus up to
`max_readers` reader connections, all opened lazily and reused.

Why this shape: SQLite allows one writer at a time. Serialising every write of this process
through one lock and starting every transaction with `BEGIN IMMEDIATE` (the write lock is taken
up front, so a transaction never has to upgrade a read lock and hit SQLITE_BUSY mid-way), plus a
5 s busy timeout for writers in *other* processes, keeps "database is locked" away from callers.
WAL lets the readers run concurrently with the writer and see every committed write.

`:memory:` is NOT supported: each aiosqlite connection would get its own empty database, so the
writer and the readers would never see each other's data. Use a (temporary) file.

Writes cost one hop to the writer's worker thread: the whole execute/fetch/close runs there in
one call (aiosqlite's public API would need two hops for fetchone + close).

Reads outside a transaction first run *inline*, on the event loop's own thread, on a read-only
connection under a time budget (1 ms of CPU by default; `TVMS_DB_FAST_PATHS=0`, a budget of 0,
sends every read to a reader thread). Most reads are index lookups and short
pages (~10-50 µs of SQLite work) for which the hop to a worker thread and back (~150 µs, two
context switches) costs far more than the query. A progress handler checks the thread's CPU
clock every 1,000 VM instructions: a read that outlasts the budget is interrupted and run again
on a reader thread, as is one that meets a lock (the inline connection never waits: busy_timeout
0). So the event loop is never held for much longer than the budget, and long reports still run
off the loop. A statement that ran out of time skips the inline attempt for its next 32 runs.
CPU time rather than wall time, because time the thread spends preempted (or waiting for the
GIL) is not the query's cost: measured under load, a wall-clock budget sent ~20% of 0.25 ms
searches to threads, where they competed for the GIL with the loop and made it worse.

WAL checkpoints (copying committed pages back into the database file) run on a connection of
their own, 0.1 s after a write, as PASSIVE checkpoints that never block the writer or readers.
SQLite's default runs them inside the commit that fills 1,000 WAL pages, on the writer's thread,
where every write waits for them (measured: a plain insert loop runs 12-24% faster without).
The writer still checkpoints by itself once the WAL reaches 10,000 pages, should the
background checkpoints fall behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import aiosqlite

from ._base import (
    DatabaseError,
    IntegrityError,
    Params,
    PoolStats,
    Row,
    Transaction,
    enter_transaction,
    leave_transaction,
    refuse_inside_transaction,
)

T = TypeVar("T")
INLINE_BUDGET_S = 0.001
_INLINE_CHECK_EVERY = 1000  # SQLite VM instructions between two looks at the clock
# An inline read that ends with one of these is run again on a reader thread.
_DEFER_CODES = frozenset({sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_DEFER: Any = object()  # `_read_inline`'s "run it on a thread" answer
# A statement that ran out of time goes straight to a reader thread this many times before it is
# tried inline again (its cost may depend on its parameters, or the data may have shrunk).
_SLOW_SKIPS = 32
_SLOW_KEPT = 256  # statements remembered as slow
_CHECKPOINT_DELAY_S = 0.1  # a write's checkpoint waits this long, to take in the writes after it
_WRITER_AUTOCHECKPOINT = 10_000  # WAL pages; the writer's own checkpoints are the fallback
_WAL_ATTEMPTS = 100  # PRAGMA journal_mode=WAL, _WAL_RETRY_S apart
_WAL_RETRY_S = 0.05
_log = logging.getLogger("tvms.db")
_NO_PARAMS: dict[str, Any] = {}  # never mutated; a dict makes sqlite name a missing parameter
_DRIVER_ERRORS = (sqlite3.Error, ValueError, OverflowError, OSError)


class _PreparedConnection(sqlite3.Connection):
    """Runs the per-connection setup inside `connect`, on aiosqlite's thread (no extra hop)."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(database, *args, **kwargs)
        self.row_factory = sqlite3.Row
        self.execute("PRAGMA foreign_keys=ON")
        self.execute("PRAGMA busy_timeout=5000")
        self.execute("PRAGMA synchronous=NORMAL")


class _InlineConnection(_PreparedConnection):
    """The event loop's read-only connection: it never waits for a lock (that read is deferred)."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.execute("PRAGMA busy_timeout=0")
        self.execute("PRAGMA query_only=ON")


def _params(params: Params) -> Mapping[str, Any]:
    # sqlite3 binds named parameters only from a real dict.
    if params is None:
        return _NO_PARAMS
    return params if type(params) is dict else dict(params)


# The functions below run on a connection's worker thread.
def _fetchall(raw: sqlite3.Connection, sql: str, params: Params) -> list[Row]:
    cursor = raw.execute(sql, _params(params))
    try:
        return cursor.fetchall()
    finally:
        cursor.close()  # also after an interrupted fetch: no statement is left open


def _fetchone(raw: sqlite3.Connection, sql: str, params: Params) -> Row | None:
    cursor = raw.execute(sql, _params(params))
    try:
        return cast(Row | None, cursor.fetchone())
    finally:
        cursor.close()  # resets the statement: no read snapshot or lock left open


def _fetchval(raw: sqlite3.Connection, sql: str, params: Params) -> Any:
    row = _fetchone(raw, sql, params)
    return None if row is None else cast(sqlite3.Row, row)[0]


def _rowcount(raw: sqlite3.Connection, sql: str, params: Params) -> int:
    cursor = raw.execute(sql, _params(params))
    try:
        return max(cursor.rowcount, 0)
    finally:
        cursor.close()


def _executemany(raw: sqlite3.Connection, sql: str, seq: Sequence[Mapping[str, Any]]) -> None:
    raw.executemany(sql, [_params(p) for p in seq]).close()


class _Connection:
    """One aiosqlite connection and its sqlite3 handle, for single-hop calls with wrapped errors."""

    __slots__ = ("_aio", "_raw", "_submit")

    def __init__(self, aio: aiosqlite.Connection) -> None:
        self._aio = aio
        # aiosqlite internals (pinned version): run one function on the worker thread.
        self._raw: sqlite3.Connection = aio._conn
        self._submit = cast(Callable[..., Awaitable[Any]], aio._execute)

    async def call(self, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, arg: Any) -> T:
        try:
            return cast(T, await self._submit(fn, self._raw, sql, arg))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except _DRIVER_ERRORS as exc:
            raise DatabaseError(str(exc)) from exc

    async def close(self) -> None:
        await self._aio.close()


async def _rollback_quietly(conn: _Connection) -> None:
    # The original exception matters more; a failed rollback leaves the connection usable
    # because the next statement queues behind it on the same thread.
    with suppress(DatabaseError):
        await conn.call(_rowcount, "ROLLBACK", None)


async def _wait_stopped(aio: aiosqlite.Connection) -> None:
    # A failed connect stops aiosqlite's worker thread without awaiting it; if the event loop
    # closed first, the thread would die on "Event loop is closed". Rare path: poll.
    for _ in range(1000):
        if not aio._thread.is_alive():
            return
        await asyncio.sleep(0.001)


class _SqliteTransaction:
    """All statements of a transaction run on the writer connection (reads included)."""

    __slots__ = ("_conn", "_open")

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._open = True

    def _check(self) -> _Connection:
        if not self._open:
            raise DatabaseError("transaction already finished")
        return self._conn

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        return await self._check().call(_fetchall, sql, params)

    async def fetchrow(self, sql: str, params: Params = None) -> Row | None:
        return await self._check().call(_fetchone, sql, params)

    async def fetchval(self, sql: str, params: Params = None) -> Any:
        return await self._check().call(_fetchval, sql, params)

    async def execute(self, sql: str, params: Params = None) -> int:
        return await self._check().call(_rowcount, sql, params)

    async def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            await self._check().call(_executemany, sql, params)


class SqliteDatabase:
    """See the module docstring. Create with `open_database("sqlite:///path.db")`."""

    def __init__(self, path: str, *, max_readers: int = 4, inline_budget_s: float = INLINE_BUDGET_S) -> None:
        if path == ":memory:" or path.startswith("file:") or not path:
            raise ValueError(
                f"SQLite database {path!r} is not supported: use a file path "
                "(':memory:' would give every connection its own empty database)"
            )
        if max_readers < 1:
            raise ValueError("max_readers must be at least 1")
        # Resolved now so that a later chdir cannot move the database.
        self._path = os.path.abspath(path)
        self._max_readers = max_readers
        self._inline: sqlite3.Connection | None = None
        self._inline_budget = inline_budget_s  # 0 sends every read to a reader thread
        self._inline_deadline = 0.0
        self._slow: dict[str, int] = {}  # SQL text → reads left to run on a thread
        self.reads_inline = 0  # reads answered on the event loop's thread
        self.reads_deferred = 0  # reads run on a reader thread (over budget, locked, or no WAL yet)
        self._writer: _Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: list[_Connection] = []  # every open reader
        self._idle: list[_Connection] = []  # readers not in use
        self._reader_slots = asyncio.Semaphore(max_readers)
        self._wal_lock = asyncio.Lock()
        self._wal_ready = False
        self._checkpointer: _Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._checkpoint_again = False
        self.checkpoints = 0  # background checkpoints run
        # Connections opening, or closing, for callers that were cancelled (see `_connect`).
        self._abandoned: set[asyncio.Future[Any]] = set()
        self._closed = False

    @property
    def engine(self) -> Literal["sqlite"]:
        return "sqlite"

    @property
    def open_connections(self) -> int:
        """Connections currently open (0 until the first query: opening is lazy)."""
        extra = (self._writer, self._inline, self._checkpointer)
        return len(self._readers) + sum(conn is not None for conn in extra)

    def pool_stats(self) -> PoolStats:
        """In use: readers running a query, and the writer while a write or transaction holds it.
        At most the readers, the writer, the event loop's own reader and the checkpointer."""
        busy = len(self._readers) - len(self._idle) + (1 if self._write_lock.locked() else 0)
        return PoolStats(busy, self.open_connections, self._max_readers + 3)

    async def _connect(self) -> _Connection:
        """A new aiosqlite connection, opened to the end even if the caller is cancelled.

        Opening runs on the connection's own thread. A caller cancelled meanwhile (a client gone)
        leaves the opening to finish in its own task, and the connection is closed then; `close()`
        waits for that, so that no connection thread outlives the event loop it reports to.
        """
        if self._closed:
            raise DatabaseError("database is closed")
        opening = asyncio.ensure_future(self._open())
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            self._abandoned.add(opening)
            opening.add_done_callback(self._close_abandoned)
            raise

    def _close_abandoned(self, opening: asyncio.Future[_Connection]) -> None:
        self._abandoned.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            return  # nothing was opened (and the exception is retrieved)
        closing = asyncio.ensure_future(opening.result().close())
        self._abandoned.add(closing)
        closing.add_done_callback(self._abandoned.discard)

    async def _open(self) -> _Connection:
        aio = aiosqlite.connect(self._path, isolation_level=None, factory=_PreparedConnection)
        try:
            await aio
        except _DRIVER_ERRORS as exc:
            await _wait_stopped(aio)
            raise DatabaseError(f"cannot open SQLite database {self._path}: {exc}") from exc
        conn = _Connection(aio)
        if not self._wal_ready:
            try:
                await self._enable_wal(conn)
            except BaseException:
                await conn.close()
                raise
        return conn

    async def _enable_wal(self, conn: _Connection) -> None:
        # journal_mode is stored in the file: once per process is enough.
        async with self._wal_lock:
            if self._wal_ready:
                return
            for attempt in range(_WAL_ATTEMPTS):
                try:
                    mode = await conn.call(_fetchval, "PRAGMA journal_mode=WAL", None)
                    break
                except DatabaseError as exc:
                    # Another process switching the same new file to WAL, or recovering its WAL,
                    # answers SQLITE_BUSY at once, without the busy handler: wait, and try again.
                    code = getattr(exc.__cause__, "sqlite_errorcode", 0) & 0xFF
                    if code != sqlite3.SQLITE_BUSY or attempt == _WAL_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(_WAL_RETRY_S)
            if str(mode).lower() != "wal":
                raise DatabaseError(f"SQLite refused WAL mode (journal_mode={mode})")
            self._wal_ready = True

    async def _get_writer(self) -> _Connection:
        # Called with the write lock held.
        if self._writer is None:
            writer = await self._connect()
            await writer.call(_fetchval, f"PRAGMA wal_autocheckpoint={_WRITER_AUTOCHECKPOINT}", None)
            self._writer = writer
        return self._writer

    def _schedule_checkpoint(self) -> None:
        """After a commit: a PASSIVE checkpoint soon, on the checkpointer's own thread."""
        if self._closed:
            return
        if self._checkpoint_task is None:
            self._checkpoint_task = asyncio.get_running_loop().create_task(self._checkpoints())
        else:
            self._checkpoint_again = True

    async def _checkpoints(self) -> None:
        try:
            while not self._closed:
                await asyncio.sleep(_CHECKPOINT_DELAY_S)
                self._checkpoint_again = False  # a commit from now on needs one more round
                try:
                    if self._checkpointer is None:
                        self._checkpointer = await self._connect()
                    await self._checkpointer.call(_fetchall, "PRAGMA wal_checkpoint(PASSIVE)", None)
                    self.checkpoints += 1
                except DatabaseError as exc:  # the writer's own checkpoints still bound the WAL
                    _log.warning("background WAL checkpoint failed: %s", exc)
                if not self._checkpoint_again:
                    return
        finally:
            self._checkpoint_task = None

    def _over_budget(self) -> bool:
        return time.thread_time() > self._inline_deadline

    def _read_inline(self, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, params: Params) -> T:
        """`fn` on the inline connection, or `_DEFER` if it ran out of time or met a lock."""
        conn = self._inline
        if conn is None:
            try:
                conn = sqlite3.connect(self._path, isolation_level=None, factory=_InlineConnection)
            except _DRIVER_ERRORS:
                return cast(T, _DEFER)  # the reader thread reports the failure
            conn.set_progress_handler(self._over_budget, _INLINE_CHECK_EVERY)
            self._inline = conn
        self._inline_deadline = time.thread_time() + self._inline_budget
        try:
            result = fn(conn, sql, params)
        except sqlite3.OperationalError as exc:
            # Extended codes keep the primary code in their low byte.
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code == sqlite3.SQLITE_INTERRUPT:
                if len(self._slow) >= _SLOW_KEPT:
                    del self._slow[next(iter(self._slow))]  # the oldest
                self._slow[sql] = _SLOW_SKIPS
            if code in _DEFER_CODES:
                return cast(T, _DEFER)
            raise DatabaseError(str(exc)) from exc
        except _DRIVER_ERRORS as exc:
            raise DatabaseError(str(exc)) from exc
        self.reads_inline += 1
        return result

    async def _read(self, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, params: Params) -> T:
        if self._closed:
            raise DatabaseError("database is closed")
        skips = self._slow.get(sql)
        if skips is not None:  # known to outlast the budget: not tried inline this time
            if skips > 1:
                self._slow[sql] = skips - 1
            else:
                del self._slow[sql]
        elif self._wal_ready and self._inline_budget > 0:  # WAL first: it is set on a thread
            result = self._read_inline(fn, sql, params)
            if result is not _DEFER:
                return result
        self.reads_deferred += 1
        async with self._reader_slots:
            if self._idle:
                conn = self._idle.pop()
            else:
                conn = await self._connect()
                self._readers.append(conn)
            try:
                return await conn.call(fn, sql, params)
            finally:
                self._idle.append(conn)

    async def _write(self, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, arg: Any) -> T:
        refuse_inside_transaction(self)
        if self._closed:
            raise DatabaseError("database is closed")
        async with self._write_lock:
            writer = self._writer or await self._get_writer()
            result = await writer.call(fn, sql, arg)
        self._schedule_checkpoint()
        return result

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        return await self._read(_fetchall, sql, params)

    async def fetchrow(self, sql: str, params: Params = None) -> Row | None:
        return await self._read(_fetchone, sql, params)

    async def fetchval(self, sql: str, params: Params = None) -> Any:
        return await self._read(_fetchval, sql, params)

    async def execute(self, sql: str, params: Params = None) -> int:
        return await self._write(_rowcount, sql, params)

    async def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            await self._write(_executemany, sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`BEGIN IMMEDIATE` under the writer lock; commit on exit, roll back on exception."""
        refuse_inside_transaction(self)
        if self._closed:
            raise DatabaseError("database is closed")
        async with self._write_lock:
            writer = await self._get_writer()
            await writer.call(_rowcount, "BEGIN IMMEDIATE", None)
            tx = _SqliteTransaction(writer)
            token = enter_transaction(self)
            try:
                yield tx
            except BaseException:
                await _rollback_quietly(writer)
                raise
            else:
                try:
                    await writer.call(_rowcount, "COMMIT", None)
                except BaseException:
                    await _rollback_quietly(writer)
                    raise
                self._schedule_checkpoint()
            finally:
                tx._open = False
                leave_transaction(token)

    async def ping(self) -> None:
        await self._read(_fetchval, "SELECT 1", None)

    async def close(self) -> None:
        """Close every connection, after the running transaction and reads have finished."""
        if self._closed:
            return
        self._closed = True
        if self._inline is not None:
            inline, self._inline = self._inline, None
            inline.close()
        task = self._checkpoint_task
        if task is not None:  # not needed: SQLite checkpoints when the last connection closes
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            await checkpointer.close()
        async with self._write_lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                await writer.close()
        for _ in range(self._max_readers):  # wait until no reader is in use
            await self._reader_slots.acquire()
        readers, self._readers, self._idle = self._readers, [], []
        for reader in readers:
            await reader.close()
        while self._abandoned:  # closing one adds its close
            await asyncio.gather(*self._abandoned, return_exceptions=True)
