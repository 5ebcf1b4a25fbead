"""`sensors.getAll` totals after the one-statement rewrite: soft-deleted sensors never count,
whichever way the total is computed (page row, OFFSET guard, separate count past the end), and the
fast timestamp formatting equals `iso_ms`."""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from procedures.sensors.reads import list_query
from procedures.sensors.rows import fast_iso
from procedures.sensors.schemas import SensorListInput
from tests.sensors.helpers import OPERATOR, make_sensor
from tests.support import result
from tvms.clock import ManualClock, iso_ms
from tvms.db import Database, migrate, open_database
from tvms.db.migrate import schema_text
from tvms.db.testing import drop_database, fresh_database_url


async def _page(client: httpx.AsyncClient, **params: Any) -> tuple[list[str], int, int]:
    page = await result(client, "sensors.getAll", params)
    return [s["id"] for s in page["sensors"]], page["total"], page["pageCount"]


async def test_deleted_sensors_never_count(client: httpx.AsyncClient, clock: ManualClock) -> None:
    made = []
    for kind in ("CAMERA", "CAMERA", "RADAR", "CAMERA"):
        clock.advance(1)
        made.append((await make_sensor(client, type=kind, name=f"Total {kind}"))["id"])
    await result(client, "sensors.delete", {"id": made[0]}, headers=OPERATOR)
    live = made[1:]
    assert await _page(client, sortOrder="asc") == (live, 3, 1)
    assert await _page(client, take=2, sortOrder="asc") == (live[:2], 3, 2)
    assert await _page(client, skip=2, take=2, sortOrder="asc") == (live[2:], 3, 2)
    for skip in (3, 4, 1000, 1_000_000_000):  # at and past the end: total still right
        assert await _page(client, skip=skip) == ([], 3, 1)
        assert await _page(client, skip=skip, type="CAMERA") == ([], 2, 1)
        assert await _page(client, skip=skip, search="total") == ([], 3, 1)
    assert (await _page(client, type="CAMERA"))[1:] == (2, 1)
    assert (await _page(client, search="TOTAL c"))[1:] == (2, 1)
    assert await _page(client, type="NVR") == ([], 0, 0)
    assert await _page(client, type="NVR", skip=5) == ([], 0, 0)
    for sensor_id in live:
        await result(client, "sensors.delete", {"id": sensor_id}, headers=OPERATOR)
    assert await _page(client) == ([], 0, 0)
    assert await _page(client, skip=10) == ([], 0, 0)


async def test_total_sees_the_callers_own_create_at_once(client: httpx.AsyncClient) -> None:
    for expected in range(1, 4):
        await make_sensor(client)
        assert (await _page(client))[1] == expected
        assert (await _page(client, skip=50))[1] == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_iso_equals_iso_ms(seed: int) -> None:
    rng = random.Random(seed)
    edges = [0, 1, 999, 1000, 86_399_999, 86_400_000, 1_731_672_000_000, 253_402_300_799_999]
    edges += [-1, -86_400_001, 253_402_300_800_000 - 1]
    values = edges + [rng.randrange(0, 253_402_300_800_000) for _ in range(5000)]
    values += [rng.randrange(1_600_000_000_000, 1_900_000_000_000) for _ in range(5000)]
    for ms in values:
        assert fast_iso(ms) == iso_ms(ms), ms


LIVE = "SELECT COUNT(*) FROM sensors WHERE deleted_at IS NULL"


async def _insert(db: Database, sensor_id: str, deleted: int | None = None) -> None:
    await db.execute(
        "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at, deleted_at) "
        "VALUES (:id, :id, :id, 'CAMERA', 1, 1, :deleted)",
        {"id": sensor_id, "deleted": deleted},
    )


async def test_the_unfiltered_total_follows_every_kind_of_write(database_url: str) -> None:
    # The unfiltered total is not a COUNT of live rows: SQLite subtracts the deleted rows from its
    # btree count, PostgreSQL reads a trigger-kept number (block 7). Both must equal the COUNT
    # after any write, including ones made outside the API and a rolled-back transaction.
    db = await open_database(database_url)
    count = list_query(SensorListInput(), db.engine).total

    async def check() -> int:
        total = int(await db.fetchval(count))
        assert total == int(await db.fetchval(LIVE))
        return total

    try:
        assert await check() == 0
        await _insert(db, "a")
        await _insert(db, "b")
        await _insert(db, "gone", deleted=5)  # inserted already deleted: never counted
        assert await check() == 2
        await db.execute("UPDATE sensors SET deleted_at = 7 WHERE id = 'a'")  # soft delete
        assert await check() == 1
        await db.execute("UPDATE sensors SET deleted_at = 8 WHERE id = 'a'")  # deleted again: no change
        await db.execute("UPDATE sensors SET name = 'renamed'")  # other columns: no change
        assert await check() == 1
        await db.execute("UPDATE sensors SET deleted_at = NULL WHERE id = 'gone'")  # undelete
        assert await check() == 2
        await db.execute("DELETE FROM sensors WHERE id IN ('a', 'b')")  # one deleted, one live
        assert await check() == 1
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at) "
                    "VALUES ('t', 't', 't', 'CAMERA', 1, 1)"
                )
                raise RuntimeError("roll back")
        assert await check() == 1
        await db.executemany(
            "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at) "
            "VALUES (:id, :id, :id, 'RADAR', 1, 1)",
            [{"id": f"bulk-{n}"} for n in range(50)],
        )
        assert await check() == 51
        await db.execute("DELETE FROM sensors" if db.engine == "sqlite" else "TRUNCATE sensors CASCADE")
        assert await check() == 0
    finally:
        await db.close()


async def test_block_7_runs_on_postgresql_without_pg_trgm_rights(database_url: str) -> None:
    # PostgreSQL: the trigram indexes are made where the role may create pg_trgm (as here), and a
    # role that may not still gets the whole block except those indexes. SQLite: the block is
    # recorded but does not run (it has its own search index and count).
    db = await open_database(database_url)
    try:
        assert await db.fetchval("SELECT MAX(version) FROM schema_version") >= 7
        if db.engine == "sqlite":
            assert (
                await db.fetchval("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sensor_live_count'") == 0
            )
            return
        trigram = "SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE 'sensors_%_trgm_idx'"
        assert await db.fetchval(trigram) == 2
        # no pending list: new sensors are in the index at once, so the planner keeps using it
        options = await db.fetch("SELECT reloptions FROM pg_class WHERE relname LIKE 'sensors_%_trgm_idx'")
        assert [list(row["reloptions"]) for row in options] == [["fastupdate=off"]] * 2
        role = f"tvms_test_role_{uuid.uuid4().hex[:8]}"
        await db.execute(f"CREATE ROLE {role} LOGIN")
    finally:
        await db.close()
    limited_url = await fresh_database_url(database_url)
    try:
        owner = await open_database(limited_url)
        try:  # may create tables, not extensions (no CREATE on the database)
            await owner.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {role}")
        finally:
            await owner.close()
        parts = urlsplit(limited_url)
        as_role = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
        limited = await open_database(as_role)
        try:
            assert await migrate(limited, schema_text()) >= 7
            assert await limited.fetchval(trigram) == 0
            assert await limited.fetchval("SELECT live FROM sensor_live_count") == 0
            await _insert(limited, "x")
            assert await limited.fetchval("SELECT live FROM sensor_live_count") == 1
        finally:
            await limited.close()
    finally:
        await drop_database(limited_url)
        cleanup = await open_database(database_url)
        try:
            await cleanup.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await cleanup.close()
