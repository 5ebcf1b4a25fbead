"""`open_database`: a Database for a URL, on the driver its scheme names.

The driver modules are imported here, when a database is opened, so that a SQLite deployment
never imports asyncpg.
"""

from __future__ import annotations

from ._base import Database


async def open_database(url: str, *, pool_size: int | None = None) -> Database:
    """A Database for `url`; no connection is opened until the first query.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (relative paths are resolved
    against the current directory now, not at the first query), or `postgresql://...` /
    `postgres://...`. `pool_size` caps SQLite reader connections (default 4) or the PostgreSQL
    pool (default 10).
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"SQLite URL must be sqlite:///relative.db or sqlite:////abs.db: {url!r}")
        from ._sqlite import SqliteDatabase

        return SqliteDatabase(rest[1:], max_readers=4 if pool_size is None else pool_size)
    if sep and scheme in ("postgresql", "postgres"):
        from ._postgres import PostgresDatabase

        return PostgresDatabase(url, max_size=10 if pool_size is None else pool_size)
    raise ValueError(f"unsupported database URL scheme {scheme!r} (use sqlite:// or postgresql://)")
