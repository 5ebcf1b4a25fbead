"""`open_database`: a Database for a URL, on the driver its scheme names.

The driver modules are imported here, when a database is opened, so that a SQLite deployment
never imports asyncpg.
"""

from __future__ import annotations

from ._base import Database


async def open_database(url: str, *, pool_size: int | None = None, fast_paths: bool = True) -> Database:
    """A Database for `url`; no connection is opened until the first query.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (relative paths are resolved
    against the current directory now, not at the first query), or `postgresql://...` /
    `postgres://...`. `pool_size` caps SQLite reader connections (default 4) or the PostgreSQL
    pool (default 10). `fast_paths=False` (`TVMS_DB_FAST_PATHS=0`) turns off each driver's
    shortcut: SQLite then runs every read on a reader thread instead of first trying it on the
    event loop under a time budget, and PostgreSQL takes every query's connection from the pool
    and gives it back instead of parking it for the next query. Results are the same either way.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"SQLite URL must be sqlite:///relative.db or sqlite:////abs.db: {url!r}")
        from ._sqlite import INLINE_BUDGET_S, SqliteDatabase

        return SqliteDatabase(
            rest[1:],
            max_readers=4 if pool_size is None else pool_size,
            inline_budget_s=INLINE_BUDGET_S if fast_paths else 0.0,
        )
    if sep and scheme in ("postgresql", "postgres"):
        from ._postgres import PostgresDatabase

        return PostgresDatabase(url, max_size=10 if pool_size is None else pool_size, park=fast_paths)
    raise ValueError(f"unsupported database URL scheme {scheme!r} (use sqlite:// or postgresql://)")
