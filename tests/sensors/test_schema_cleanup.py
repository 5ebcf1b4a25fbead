"""The schema block that removes what only the old `sensors.getAll` caches read (the search tag and
the row versions) migrates a database that has them, keeps its sensors, keys and search index, and
leaves writes and lists working."""

from __future__ import annotations

import os
from pathlib import Path

from procedures.sensors.reads import list_query
from procedures.sensors.schemas import SensorListInput
from tvms.db import Database, migrate, open_database
from tvms.db.migrate import parse_migrations, schema_text
from tvms.db.testing import TEST_DATABASE_URL_ENV, temporary_database_url

_GONE_TABLES = {"sensor_search_tag"}
_GONE_TRIGGERS = {
    "sqlite": {
        "sensor_search_tag_ai", "sensor_search_tag_ad", "sensor_search_tag_au", "sensor_version_ai",
        "sensor_version_au", "sensor_version_key_ai", "sensor_version_key_au", "sensor_version_key_ad",
    },
    "postgresql": {"sensor_search_retag", "sensor_version_row", "sensor_version_key"},
}  # fmt: skip
_KEPT = {  # what the list still reads: the search index and the live count, with their triggers
    "sqlite": {
        "sensors_fts",
        "sensors_search_keys",
        "sensors_search_ai",
        "sensors_search_ad",
        "sensors_search_au",
    },
    "postgresql": {"sensor_live_count", "sensor_live_count_row", "sensor_live_count_truncate"},
}


async def _objects(db: Database) -> set[str]:
    """Names of the tables, triggers and functions of the database."""
    if db.engine == "sqlite":
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        return {row["name"] for row in rows}
    rows = await db.fetch(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' "
        "UNION SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
        "UNION SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    )
    return {row["name"] for row in rows}


async def _sensor_columns(db: Database) -> set[str]:
    if db.engine == "sqlite":
        rows = await db.fetch("SELECT name FROM pragma_table_info('sensors')")
    else:
        rows = await db.fetch(
            "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'sensors'"
        )
    return {row["name"] for row in rows}


def _schema_before_cleanup(engine: str) -> str:
    """The schema up to the block that drops the search tag (whatever its number)."""
    text = schema_text()
    cleanup = next(
        block
        for block in parse_migrations(text)
        if block.applies_to(engine) and "DROP TABLE IF EXISTS sensor_search_tag" in block.statements
    )
    return text[: text.index(f"\n-- migration: {cleanup.version}\n")]


async def _page(db: Database, spec: SensorListInput) -> tuple[list[str], int]:
    page, _, params, _ = list_query(spec, db.engine)
    rows = await db.fetch(page, params)
    return [row["id"] for row in rows], int(rows[0]["total"]) if rows else 0


async def test_the_cleanup_block_migrates_a_database_with_the_cache_objects(tmp_path: Path) -> None:
    async with temporary_database_url(os.environ.get(TEST_DATABASE_URL_ENV), tmp_path) as url:
        db = await open_database(url)
        try:
            before = _schema_before_cleanup(db.engine)
            await migrate(db, before)
            had = await _objects(db)
            assert _GONE_TABLES | _GONE_TRIGGERS[db.engine] | _KEPT[db.engine] <= had
            assert "version" in await _sensor_columns(db)
            await db.executemany(
                "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at, deleted_at) "
                "VALUES (:id, :name, :id, 'CAMERA', :at, :at, :deleted)",
                [
                    {"id": "old-1", "name": "Old camera one", "at": 1, "deleted": None},
                    {"id": "old-2", "name": "Old camera two", "at": 2, "deleted": None},
                    {"id": "old-3", "name": "Old camera gone", "at": 3, "deleted": 9},
                ],
            )
            await db.execute(
                "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at) "
                "VALUES ('k1', 'old-1', 'tvms_dk_00000001', 'h1', 1)"
            )

            await migrate(db, schema_text())
            now = await _objects(db)
            assert not now & (_GONE_TABLES | _GONE_TRIGGERS[db.engine])
            assert _KEPT[db.engine] <= now
            assert had - now == _GONE_TABLES | _GONE_TRIGGERS[db.engine] | (
                {"sensor_search_retag", "sensor_version_row", "sensor_version_key"}  # the functions
                if db.engine == "postgresql"
                else set()
            )
            assert "version" not in await _sensor_columns(db)
            prefix = await db.fetchval("SELECT prefix FROM device_keys WHERE sensor_id = 'old-1'")
            assert prefix == "tvms_dk_00000001"

            assert await _page(db, SensorListInput()) == (["old-2", "old-1"], 2)
            assert await _page(db, SensorListInput(search="camera")) == (["old-2", "old-1"], 2)
            # writes go on, and the search index and live count (kept) follow them
            await db.execute("UPDATE sensors SET name = 'Renamed', deleted_at = NULL WHERE id = 'old-3'")
            await db.execute("UPDATE sensors SET deleted_at = 10 WHERE id = 'old-1'")
            await db.execute("UPDATE device_keys SET revoked_at = 11 WHERE id = 'k1'")
            assert await _page(db, SensorListInput()) == (["old-3", "old-2"], 2)
            assert await _page(db, SensorListInput(search="camera")) == (["old-2"], 1)
            assert await _page(db, SensorListInput(search="renamed")) == (["old-3"], 1)
        finally:
            await db.close()
