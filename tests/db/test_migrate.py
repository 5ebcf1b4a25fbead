"""migrate(): blocks applied once, atomically, in order, on every configured engine."""

from __future__ import annotations

import anyio
import pytest

from tvms.db import Database, DatabaseError, migrate, open_database
from tvms.db.migrate import parse_migrations

pytestmark = pytest.mark.anyio


V1 = """
-- The schema. This comment comes before the first block.
-- migration: 1
CREATE TABLE owners (
    id TEXT PRIMARY KEY,   -- trailing comments inside a statement are SQL's business
    name TEXT NOT NULL
);
-- a comment line; with a semicolon;
INSERT INTO owners (id, name) VALUES ('o1', 'first');
"""
V2 = """
-- migration: 2
CREATE TABLE items (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL REFERENCES owners (id));
CREATE INDEX items_owner ON items (owner_id);
"""
V3_FAILS = """
-- migration: 3
CREATE TABLE tags (id TEXT PRIMARY KEY);
INSERT INTO tags (id) VALUES ('t1');
INSERT INTO owners (id, name) VALUES ('o2', 'second');
INSERT INTO tags (id) VALUES ('t1');
"""


async def table_exists(database: Database, name: str) -> bool:
    try:
        await database.fetch(f"SELECT 1 FROM {name} WHERE 1 = 0")
    except DatabaseError:
        return False
    return True


async def versions(database: Database) -> list[int]:
    return [r["version"] for r in await database.fetch("SELECT version FROM schema_version ORDER BY 1")]


def test_parse_splits_blocks_and_statements() -> None:
    blocks = parse_migrations(V1 + V2)
    assert [b.version for b in blocks] == [1, 2]
    assert blocks[0].statements == (
        "CREATE TABLE owners (\n    id TEXT PRIMARY KEY,   -- trailing comments inside a "
        "statement are SQL's business\n    name TEXT NOT NULL\n)",
        "INSERT INTO owners (id, name) VALUES ('o1', 'first')",
    )
    assert len(blocks[1].statements) == 2
    assert parse_migrations("-- migration: 1\n-- migration: 5\nSELECT 1;\n") == [
        (1, (), None),
        (5, ("SELECT 1",), None),
    ]


def test_parse_reads_engine_lines() -> None:
    text = (
        "-- migration: 1\n-- engine: sqlite\nSELECT 1;\n"
        "-- migration: 2\n--engine:PostgreSQL\n-- a comment after it\nSELECT 2;\n"
        "-- migration: 3\nSELECT 3;\n"
    )
    assert parse_migrations(text) == [
        (1, ("SELECT 1",), "sqlite"),
        (2, ("SELECT 2",), "postgresql"),
        (3, ("SELECT 3",), None),
    ]
    assert [m.applies_to("sqlite") for m in parse_migrations(text)] == [True, False, True]
    assert [m.applies_to("postgresql") for m in parse_migrations(text)] == [False, True, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (V2 + V1, "increasing"),
        (V1 + V1, "increasing"),
        ("CREATE TABLE x (id TEXT);\n" + V1, "before the first"),
        (V1 + "-- migration 2\nCREATE TABLE y (id TEXT);\n", "malformed"),
        ("-- migration: 1\n-- engine: mysql\nSELECT 1;\n", "malformed engine"),
        ("-- migration: 1\n-- engine sqlite\nSELECT 1;\n", "malformed engine"),
        ("-- migration: 1\n-- engine: sqlite postgresql\nSELECT 1;\n", "malformed engine"),
        ("-- engine: sqlite\n-- migration: 1\nSELECT 1;\n", "directly under"),
        ("-- migration: 1\n-- note\n-- engine: sqlite\nSELECT 1;\n", "directly under"),
        ("-- migration: 1\nSELECT 1;\n-- engine: sqlite\nSELECT 2;\n", "directly under"),
        ("-- migration: 1\n-- engine: sqlite\n-- engine: sqlite\nSELECT 1;\n", "directly under"),
    ],
    ids=[
        "out-of-order",
        "duplicate",
        "sql-before-first-block",
        "malformed-marker",
        "unknown-engine",
        "engine-without-colon",
        "two-engines",
        "engine-before-block",
        "engine-after-comment",
        "engine-after-sql",
        "engine-twice",
    ],
)
async def test_malformed_schema_is_refused_before_touching_the_database(
    database: Database, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await migrate(database, text)
    assert database.open_connections == 0  # type: ignore[attr-defined]


async def test_migrate_applies_once(database: Database) -> None:
    assert await migrate(database, V1) == 1
    assert await migrate(database, V1 + V2) == 2
    assert await migrate(database, V1 + V2) == 2
    assert await versions(database) == [1, 2]
    assert await database.fetchval("SELECT COUNT(*) FROM owners") == 1  # block 1 ran once
    assert await table_exists(database, "items")
    applied_at = await database.fetchval("SELECT applied_at FROM schema_version WHERE version = 2")
    assert applied_at > 1_600_000_000_000  # epoch milliseconds


async def test_engine_block_runs_only_on_its_engine_but_is_recorded_everywhere(database: Database) -> None:
    other = "postgresql" if database.engine == "sqlite" else "sqlite"
    text = (
        V1
        + f"-- migration: 2\n-- engine: {database.engine}\nCREATE TABLE mine (id TEXT PRIMARY KEY);\n"
        + f"-- migration: 3\n-- engine: {other}\nCREATE TABLE theirs (id TEXT PRIMARY KEY);\n"
        + "THIS IS NOT SQL FOR THIS ENGINE;\n"
        + "-- migration: 4\nCREATE TABLE everyone (id TEXT PRIMARY KEY);\n"
    )
    assert await migrate(database, text) == 4
    assert await versions(database) == [1, 2, 3, 4]
    assert await table_exists(database, "mine")
    assert not await table_exists(database, "theirs")
    assert await table_exists(database, "everyone")
    assert await migrate(database, text) == 4  # still a no-op the second time


async def test_engine_block_failing_on_its_engine_leaves_nothing_behind(database: Database) -> None:
    text = V1 + f"-- migration: 2\n-- engine: {database.engine}\nCREATE TABLE mine (id TEXT);\nNOT SQL;\n"
    with pytest.raises(DatabaseError):
        await migrate(database, text)
    assert await versions(database) == [1]
    assert not await table_exists(database, "mine")


async def test_empty_schema_creates_version_table(database: Database) -> None:
    assert await migrate(database, "") == 0
    assert await versions(database) == []


async def test_failing_block_leaves_nothing_behind(database: Database) -> None:
    assert await migrate(database, V1 + V2) == 2
    with pytest.raises(DatabaseError) as info:
        await migrate(database, V1 + V2 + V3_FAILS)
    assert any("migration 3" in note for note in getattr(info.value, "__notes__", []))
    assert await versions(database) == [1, 2]
    assert not await table_exists(database, "tags")
    assert await database.fetchval("SELECT COUNT(*) FROM owners") == 1


async def test_concurrent_migrators_apply_each_block_once(database_url: str) -> None:
    # Separate Database objects = separate connections, as two processes would have.
    dbs = [await open_database(database_url) for _ in range(4)]
    results: list[int] = []

    async def run(database: Database) -> None:
        results.append(await migrate(database, V1 + V2))

    try:
        async with anyio.create_task_group() as tg:
            for database in dbs:
                tg.start_soon(run, database)
        assert results == [2, 2, 2, 2]
        assert await versions(dbs[0]) == [1, 2]
        assert await dbs[0].fetchval("SELECT COUNT(*) FROM owners") == 1
    finally:
        for database in dbs:
            await database.close()
