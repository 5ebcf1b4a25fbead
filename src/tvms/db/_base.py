"""Shared types of the database layer: rows, the Database/Transaction interface, errors, and the
`:name` → `$n` rewrite that lets the same SQL text run on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple, Protocol

Params = Mapping[str, Any] | None
Engine = Literal["sqlite", "postgresql"]


class Row(Protocol):
    """A result row: `row["column"]` (sqlite3.Row and asyncpg.Record both fit; `dict(row)` works).

    A protocol rather than a union so that neither driver has to be imported to type a query.
    """

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Sequence[str] | Iterator[str]: ...


class DatabaseError(Exception):
    """Any failure of the database or its driver; the driver's exception is the `__cause__`."""


class IntegrityError(DatabaseError):
    """A unique, foreign-key, check or not-null constraint was violated (the caller's CONFLICT).

    `args[0]` is the driver's message, which names the constraint (PostgreSQL) or the
    constraint kind and columns (SQLite).
    """


class Transaction(Protocol):
    """Queries bound to one open transaction (committed on exit, rolled back on exception)."""

    async def fetch(self, sql: str, params: Params = None) -> list[Row]: ...

    async def fetchrow(self, sql: str, params: Params = None) -> Row | None: ...

    async def fetchval(self, sql: str, params: Params = None) -> Any: ...

    async def execute(self, sql: str, params: Params = None) -> int: ...

    async def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None: ...


class PoolStats(NamedTuple):
    """A process's connections to the database at one moment (the `tvms_db_pool_connections` gauge)."""

    in_use: int
    """Connections running a query or holding a transaction now."""
    open: int
    """Connections open, in use or idle."""
    max: int
    """The most connections this process will open."""


class Database(Transaction, Protocol):
    """A lazily connected database; the same five query methods outside a transaction."""

    @property
    def engine(self) -> Engine: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def ping(self) -> None: ...

    def pool_stats(self) -> PoolStats: ...

    async def close(self) -> None: ...


# Which Database (if any) has a transaction open in the current task (and tasks it spawns).
# Writing through the Database instead of the Transaction there would deadlock on SQLite (the
# writer lock is held) and silently escape the transaction on PostgreSQL: refuse it loudly.
_active_transaction: ContextVar[object | None] = ContextVar("tvms_db_transaction", default=None)


def refuse_inside_transaction(db: object) -> None:
    """Raise if the current task already holds a transaction on `db`."""
    if _active_transaction.get() is db:
        raise DatabaseError(
            "a transaction on this database is open in this task: use the Transaction object "
            "(tx.execute, ...) inside `async with db.transaction() as tx`, and do not nest "
            "transactions"
        )


def enter_transaction(db: object) -> Any:
    """Mark `db` as in a transaction for this task; returns the token for `leave_transaction`."""
    return _active_transaction.set(db)


def leave_transaction(token: Any) -> None:
    _active_transaction.reset(token)


# Literals, quoted identifiers and comments are matched (and kept) first so that a ':' inside
# them is never taken for a parameter; '::' is a PostgreSQL cast, not a parameter.
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|:([A-Za-z_]\w*)""",
    re.DOTALL,
)


@functools.lru_cache(maxsize=4096)
def to_positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite `:name` parameters to `$1..$n` (one number per distinct name), cached per SQL text.

    Returns the rewritten SQL and the parameter names in `$n` order.
    """
    numbers: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        number = numbers.setdefault(name, len(numbers) + 1)
        return f"${number}"

    return _TOKENS.sub(replace, sql), tuple(numbers)


def bind(names: tuple[str, ...], params: Params) -> list[Any]:
    """Positional argument list for `names` from the named `params`; missing names raise."""
    if not names:
        return []
    if params is not None:
        try:
            return [params[name] for name in names]
        except KeyError:
            pass
    missing = ", ".join(f":{n}" for n in names if params is None or n not in params)
    raise DatabaseError(f"missing SQL parameter(s) {missing}")
