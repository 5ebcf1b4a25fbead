"""PostgreSQL driver on asyncpg: a lazily created pool (min 1, max 10 by default).

A connection that ends a query or transaction normally is parked and taken by the next caller,
so the pool's own acquire/release (a task and a reset per query) is paid only for connections
that ended otherwise (see `PostgresDatabase._lease`). Callers are served first come, first served.
`park=False` (`TVMS_DB_FAST_PATHS=0`) gives every connection back to the pool after its query.

SQL is written with `:name` parameters for both engines; here it is rewritten once per SQL text
to `$1..$n` (see `to_positional`). Values pass through to asyncpg unchanged, so a parameter's
type is the one PostgreSQL infers from the statement (epoch-ms `*_at` columns are BIGINT).

Transactions use PostgreSQL's default READ COMMITTED isolation: a read-modify-write must lock
what it reads (`SELECT ... FOR UPDATE`) or be a single `UPDATE ... SET n = n + 1`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, TypeVar, cast

import asyncpg  # type: ignore[import-untyped]

from ._base import (
    DatabaseError,
    IntegrityError,
    Params,
    PoolStats,
    Row,
    Transaction,
    bind,
    enter_transaction,
    leave_transaction,
    refuse_inside_transaction,
    to_positional,
)

T = TypeVar("T")

_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


def _wrap(exc: BaseException) -> DatabaseError:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(str(exc))
    return DatabaseError(str(exc) or type(exc).__name__)


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag: "INSERT 0 3", "UPDATE 2", "CREATE TABLE".
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


# `target` is an asyncpg Pool (outside a transaction) or Connection (inside one): same methods.
async def _fetch(target: Any, sql: str, params: Params) -> list[Row]:
    query, names = to_positional(sql)
    args = bind(names, params)
    try:
        return cast(list[Row], await target.fetch(query, *args))
    except _DRIVER_ERRORS as exc:
        raise _wrap(exc) from exc


async def _fetchrow(target: Any, sql: str, params: Params) -> Row | None:
    query, names = to_positional(sql)
    args = bind(names, params)
    try:
        return cast(Row | None, await target.fetchrow(query, *args))
    except _DRIVER_ERRORS as exc:
        raise _wrap(exc) from exc


async def _fetchval(target: Any, sql: str, params: Params) -> Any:
    query, names = to_positional(sql)
    args = bind(names, params)
    try:
        return await target.fetchval(query, *args)
    except _DRIVER_ERRORS as exc:
        raise _wrap(exc) from exc


async def _execute(target: Any, sql: str, params: Params) -> int:
    query, names = to_positional(sql)
    args = bind(names, params)
    try:
        return _rowcount(await target.execute(query, *args))
    except _DRIVER_ERRORS as exc:
        raise _wrap(exc) from exc


async def _executemany(target: Any, sql: str, seq: Sequence[Mapping[str, Any]]) -> None:
    if not seq:
        return
    query, names = to_positional(sql)
    rows = [bind(names, params) for params in seq]
    try:
        await target.executemany(query, rows)
    except _DRIVER_ERRORS as exc:
        raise _wrap(exc) from exc


async def _keep_session(conn: Any) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does.

    asyncpg still rolls back a transaction left open. Its default reset would also send `CLOSE
    ALL; UNLISTEN *; RESET ALL` and an advisory unlock, one more round trip per pooled query
    (measured: 256-277 µs → 132-148 µs per `pool.fetch`). This code never changes session state
    (no SET, LISTEN, cursors or session-level advisory locks), so there is nothing to reset.
    """


class _PgTransaction:
    """Queries on the one connection that holds the transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        return await _fetch(self._conn, sql, params)

    async def fetchrow(self, sql: str, params: Params = None) -> Row | None:
        return await _fetchrow(self._conn, sql, params)

    async def fetchval(self, sql: str, params: Params = None) -> Any:
        return await _fetchval(self._conn, sql, params)

    async def execute(self, sql: str, params: Params = None) -> int:
        return await _execute(self._conn, sql, params)

    async def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        await _executemany(self._conn, sql, params)


class PostgresDatabase:
    """See the module docstring. Create with `open_database("postgresql://...")`."""

    def __init__(self, url: str, *, max_size: int = 10, park: bool = True) -> None:
        self._url = url
        self._max_size = max_size
        self._park = park  # False: no connection is kept between queries
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        self._closed = False
        # Connections taken from the pool and kept between queries (see `_lease`). A slot is
        # held from taking a connection until it is parked or given back: callers queue for
        # slots in arrival order (asyncio.Semaphore is first-come, first-served).
        self._slots = asyncio.Semaphore(max_size)
        self._parked: list[Any] = []
        self._waiting = 0  # slot holders waiting in pool.acquire()
        self._returning: set[asyncio.Task[None]] = set()  # connections on their way back to the pool

    @property
    def engine(self) -> Literal["postgresql"]:
        return "postgresql"

    @property
    def open_connections(self) -> int:
        """Connections currently open (0 until the first query: the pool is created lazily)."""
        return 0 if self._pool is None else int(self._pool.get_size())

    def pool_stats(self) -> PoolStats:
        """In use: taken from asyncpg's pool and not parked here (see `_lease`)."""
        pool = self._pool
        if pool is None:
            return PoolStats(0, 0, self._max_size)
        size = int(pool.get_size())
        return PoolStats(max(0, size - int(pool.get_idle_size()) - len(self._parked)), size, self._max_size)

    async def _start(self) -> Any:
        async with self._pool_lock:
            if self._closed:
                raise DatabaseError("database is closed")
            if self._pool is None:
                try:
                    self._pool = await asyncpg.create_pool(
                        self._url, min_size=1, max_size=self._max_size, reset=_keep_session
                    )
                except _DRIVER_ERRORS as exc:
                    # The URL may hold a password: do not echo it.
                    raise DatabaseError(f"cannot connect to PostgreSQL: {exc}") from exc
            return self._pool

    async def _acquire(self) -> Any:
        """A slot, then a parked connection or one from the pool. Pair with `_finish`."""
        await self._slots.acquire()
        try:
            while self._parked:
                conn = self._parked.pop()
                if not conn.is_closed():
                    return conn
                self._give_back(conn)  # lost meanwhile: the pool replaces it
            pool = self._pool or await self._start()
            self._waiting += 1
            try:
                return await pool.acquire()
            except _DRIVER_ERRORS as exc:
                raise _wrap(exc) from exc
            finally:
                self._waiting -= 1
        except BaseException:
            self._slots.release()
            raise

    def _finish(self, conn: Any, *, clean: bool) -> None:
        """Park `conn` after a query that ended normally, unless a slot holder waits in the pool
        (it would wait for a connection parked here) or the connection is not reusable as is;
        otherwise give it back to the pool. Frees the slot."""
        reusable = clean and not (self._closed or conn.is_closed() or conn.is_in_transaction())
        if reusable and self._park and not self._waiting:
            self._parked.append(conn)
        else:
            self._give_back(conn)
        self._slots.release()

    def _give_back(self, conn: Any) -> None:
        """Back to the pool, which resets it or, mid-query (a cancelled caller), waits it out."""
        task = asyncio.get_running_loop().create_task(self._release(conn))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def _release(self, conn: Any) -> None:
        pool = self._pool
        if pool is None:  # closed meanwhile
            with suppress(*_DRIVER_ERRORS):
                conn.terminate()
            return
        with suppress(*_DRIVER_ERRORS):
            await pool.release(conn)

    async def _lease(self, fn: Callable[[Any, str, Any], Awaitable[T]], sql: str, params: Any) -> T:
        """`fn` on a connection of its own, without the pool's bookkeeping in the common case.

        asyncpg's pool costs ~36 µs per query (measured: `pool.fetch` 94 µs, `conn.fetch` of the
        same page 58 µs), most of it a task per release (`asyncio.shield`) and its reset. A
        connection that ends a query normally is parked here instead and taken by the next query;
        one that ends otherwise (an error, a cancelled caller) goes back through the pool, which
        knows how to wait out a cancelled query. Callers are served in arrival order (`_slots`);
        without that, under load, a caller could lose every race for a connection (seen: 1.8 s).
        """
        conn = await self._acquire()
        try:
            result = await fn(conn, sql, params)
        except BaseException:
            self._finish(conn, clean=False)
            raise
        self._finish(conn, clean=True)
        return result

    async def fetch(self, sql: str, params: Params = None) -> list[Row]:
        return await self._lease(_fetch, sql, params)

    async def fetchrow(self, sql: str, params: Params = None) -> Row | None:
        return await self._lease(_fetchrow, sql, params)

    async def fetchval(self, sql: str, params: Params = None) -> Any:
        return await self._lease(_fetchval, sql, params)

    async def execute(self, sql: str, params: Params = None) -> int:
        refuse_inside_transaction(self)
        return await self._lease(_execute, sql, params)

    async def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        refuse_inside_transaction(self)
        await self._lease(_executemany, sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One pooled connection in a transaction; commit on exit, roll back on exception."""
        refuse_inside_transaction(self)
        conn = await self._acquire()
        clean = False
        try:
            pg_tx = conn.transaction()
            try:
                await pg_tx.start()
            except _DRIVER_ERRORS as exc:
                raise _wrap(exc) from exc
            token = enter_transaction(self)
            try:
                yield _PgTransaction(conn)
            except BaseException:
                # Releasing the connection resets it anyway; the original error matters more.
                with suppress(*_DRIVER_ERRORS):
                    await pg_tx.rollback()
                raise
            else:
                try:
                    await pg_tx.commit()
                except _DRIVER_ERRORS as exc:
                    raise _wrap(exc) from exc
                clean = True
            finally:
                leave_transaction(token)
        finally:
            self._finish(conn, clean=clean)

    async def ping(self) -> None:
        await self._lease(_fetchval, "SELECT 1", None)

    async def close(self) -> None:
        async with self._pool_lock:
            self._closed = True
            parked, self._parked = self._parked, []
            for conn in parked:
                self._give_back(conn)
            if self._returning:
                await asyncio.gather(*self._returning)
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
