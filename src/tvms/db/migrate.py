"""Apply `schema.sql` (beside this module, shipped as package data): blocks headed
`-- migration: N`, each applied once, in one transaction together with its `schema_version` row,
so a failing block leaves nothing behind.

A line `-- engine: sqlite` (or `postgresql`) directly under the marker makes the block's statements
run on that engine only; its version is recorded on every engine, so numbering stays linear."""

from __future__ import annotations

import re
import time
from importlib import resources
from typing import NamedTuple

from tvms.config import Config

from ._base import Database, Transaction
from ._open import open_database

_MARKER = re.compile(r"--\s*migration:\s*(\d+)\s*", re.IGNORECASE)
_MARKER_LIKE = re.compile(r"--\s*migration\b", re.IGNORECASE)
_ENGINE = re.compile(r"--\s*engine:\s*(\w+)\s*", re.IGNORECASE)
_ENGINE_LIKE = re.compile(r"--\s*engine\b", re.IGNORECASE)
ENGINES = ("sqlite", "postgresql")
# Any constant works; it only has to be the same for every process migrating this database.
_ADVISORY_LOCK_KEY = 0x7475_6D73_6D69_67  # "tvmsmig"


class Migration(NamedTuple):
    version: int
    statements: tuple[str, ...]
    engine: str | None = None  # None: every engine

    def applies_to(self, engine: str) -> bool:
        return self.engine is None or self.engine == engine


def parse_migrations(schema_text: str) -> list[Migration]:
    """Split `schema_text` into blocks and statements; raise ValueError on malformed text.

    Statements end with `;` at the end of a line; lines starting with `--` are ignored, except
    an optional `-- engine: NAME` on the line right after the marker.
    """
    blocks: list[Migration] = []
    version: int | None = None
    engine: str | None = None
    statements: list[str] = []
    current: list[str] = []
    marker_line = 0  # the line number of the current block's marker

    def finish_block() -> None:
        if version is None:
            return
        tail = "\n".join(current).strip()
        if tail:
            statements.append(tail)
        blocks.append(Migration(version, tuple(statements), engine))

    for number, line in enumerate(schema_text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("--"):
            marker = _MARKER.fullmatch(stripped)
            if marker:
                finish_block()
                new_version = int(marker.group(1))
                if blocks and new_version <= blocks[-1].version:
                    raise ValueError(
                        f"schema line {number}: migration {new_version} follows migration "
                        f"{blocks[-1].version}; blocks must be unique and in increasing order"
                    )
                version, engine, statements, current = new_version, None, [], []
                marker_line = number
            elif _ENGINE_LIKE.match(stripped):
                named = _ENGINE.fullmatch(stripped)
                if named is None or named.group(1).lower() not in ENGINES:
                    raise ValueError(
                        f"schema line {number}: malformed engine line {stripped!r} "
                        f"(expected '-- engine: sqlite' or '-- engine: postgresql')"
                    )
                if version is None or number != marker_line + 1:
                    raise ValueError(
                        f"schema line {number}: '-- engine:' must come directly under '-- migration: N'"
                    )
                engine = named.group(1).lower()
            elif _MARKER_LIKE.match(stripped):
                raise ValueError(
                    f"schema line {number}: malformed marker {stripped!r} (expected '-- migration: N')"
                )
            continue
        if not stripped:
            continue
        if version is None:
            raise ValueError(f"schema line {number}: SQL before the first '-- migration: N' line")
        current.append(line)
        if stripped.endswith(";"):
            statement = "\n".join(current).strip()[:-1].strip()
            if statement:
                statements.append(statement)
            current = []
    finish_block()
    return blocks


async def _apply(db: Database, migration: Migration | None) -> int:
    """In one transaction: lock, ensure schema_version, apply `migration` if still pending.

    Returns the version recorded afterwards. On PostgreSQL the advisory lock serialises
    concurrent migrators (released at commit); on SQLite `BEGIN IMMEDIATE` already does.
    """
    async with db.transaction() as tx:
        if db.engine == "postgresql":
            await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _ADVISORY_LOCK_KEY})
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        current = await _current_version(tx)
        if migration is None or migration.version <= current:
            return current
        # A block for another engine is recorded without running, so versions stay linear.
        statements = migration.statements if migration.applies_to(db.engine) else ()
        for statement in statements:
            try:
                await tx.execute(statement)
            except Exception as exc:
                exc.add_note(f"while applying migration {migration.version}: {statement[:200]}")
                raise
        await tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (:version, :applied_at)",
            {"version": migration.version, "applied_at": int(time.time() * 1000)},
        )
        return migration.version


async def _current_version(tx: Transaction) -> int:
    value = await tx.fetchval("SELECT MAX(version) FROM schema_version")
    return 0 if value is None else int(value)


async def migrate(db: Database, schema_text: str) -> int:
    """Apply every block newer than the recorded version; return the resulting version.

    The whole text is validated before the database is touched. Running it again is a no-op.
    """
    migrations = parse_migrations(schema_text)
    version = await _apply(db, None)
    for migration in migrations:
        if migration.version > version:
            version = await _apply(db, migration)
    return version


def schema_text() -> str:
    """The schema `tvms migrate` applies: `schema.sql` in this package (a wheel carries it as
    package data, so the same lookup works in a checkout and in an install)."""
    return resources.files("tvms.db").joinpath("schema.sql").read_text(encoding="utf-8")


async def run_migrations(config: Config) -> int:
    """Apply the schema to the configured database (creating the data directory first); return
    the resulting version."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = await open_database(config.resolved_database_url, fast_paths=config.db_fast_paths)
    try:
        return await migrate(db, schema_text())
    finally:
        await db.close()
