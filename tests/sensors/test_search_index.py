"""`sensors.getAll` search through SQLite's trigram index (schema block 6): the page and the total
are exactly what the LIKE scan gives, for every kind of pattern and after every kind of write.

The reference is the old query (the LIKE scan, no index) run on the same database; on SQLite
also a Python model of LIKE (ASCII letters fold, nothing else does) and the raw index itself.
"""

# ruff: noqa: RUF001 -- Cyrillic test data is meant to look like Latin letters
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from procedures.paging import contains_sql, like_contains
from procedures.sensors import reads
from procedures.sensors.reads import FTS_COUNT, fts_phrase, list_query
from procedures.sensors.schemas import SensorListInput
from tests.sensors.helpers import OPERATOR, make_sensor
from tests.support import result
from tvms.clock import ManualClock
from tvms.db import Database, migrate, open_database
from tvms.db.migrate import schema_text

SENSORS = [
    ("Camera Abay 01", "CAM-01"),
    ("camera abay 02", "cam-02"),
    ("100% sure_thing", "PCT-100"),
    ("Quote \"double\" and 'single'", "QUO-1"),
    ("Back\\slash path\\", "BSL-1"),
    ("Камера Абай", "KAM-1"),
    ("КАМЕРА АБАЙ", "KAM-2"),
    ("Straße Ärger", "STR-1"),
    ("Radar_North", "RAD_N:1"),
    ("aaaa aaaa", "AAA.1"),
    ("Mixed CaSe Name", "MiX-Case"),
    ("50%_off", "p5.0"),
]
PATTERNS = [
    *["a", "A", "ab", "Ca", "01", "-0", "%", "_", '"', "'", "\\", " ", "Ка", "ä"],  # 1-2: the scan
    *["cam", "CAM", "camera abay", "amera", "abay 0", "ABAY 0", "m-0", "100%", "% s", "e_t", "_th"],
    *['"do', '"double"', "'single'", 'd" a', "\\sl", "k\\s", "h\\", "path\\"],
    *["Камера", "камера", "КАМ", "кам", "абай", "Абай", "мера а"],
    *["ärger", "ÄRGER", "Ärger", "straße", "STRASSE", "aße"],
    *["aaa", "aaaa", "aaaaa", "a a", "aaaa aaaa", "aaaa aaaaa", "   ", "zzz", "rad_n:1", "RAD_N", "%_o"],
    *["mix-case", "MIXED case", "p5.0", "50%_off", "0%_", "x" * 100, "cam-01\\", "\u212aelvin"],
]


def _ascii_fold(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()


async def _scan(db: Database, search: str, extra: str = "") -> list[str]:
    """The LIKE scan without the index: the live matches, in the default order."""
    sql = (
        f"SELECT s.id FROM sensors s WHERE s.deleted_at IS NULL{extra} AND "
        f"{contains_sql(db.engine, ('s.name', 's.device_id'))} ORDER BY s.created_at DESC, s.id DESC"
    )
    return [row["id"] for row in await db.fetch(sql, {"search": like_contains(search)})]


async def _check_all(client: httpx.AsyncClient, db: Database, patterns: list[str] = PATTERNS) -> None:
    live = await db.fetch("SELECT id, name, device_id FROM sensors WHERE deleted_at IS NULL")
    for search in patterns:
        expected = await _scan(db, search)
        if db.engine == "sqlite":
            model = {
                r["id"]
                for r in live
                if _ascii_fold(search) in _ascii_fold(r["name"])
                or _ascii_fold(search) in _ascii_fold(r["device_id"])
            }
            assert set(expected) == model, search
            phrase = fts_phrase(search)
            assert (phrase is None) == (len(search) < 3), search
            if phrase is not None:  # the index alone finds exactly the LIKE's rows
                rows = await db.fetch("SELECT id FROM sensors_fts WHERE sensors_fts MATCH :q", {"q": phrase})
                assert sorted(r["id"] for r in rows) == sorted(expected), search
        page = await result(client, "sensors.getAll", {"search": search, "take": 100})
        assert [s["id"] for s in page["sensors"]] == expected, search
        assert page["total"] == len(expected), search
        small = await result(client, "sensors.getAll", {"search": search, "take": 1, "skip": 1})
        assert (small["total"], [s["id"] for s in small["sensors"]]) == (len(expected), expected[1:2]), search
        past = await result(client, "sensors.getAll", {"search": search, "skip": 500})
        assert (past["total"], past["sensors"]) == (len(expected), []), search
        # with another filter too: the index's matches checked against the rows
        typed = await result(client, "sensors.getAll", {"search": search, "type": "RADAR", "take": 100})
        radar = await _scan(db, search, " AND s.type = 'RADAR'")
        assert ([s["id"] for s in typed["sensors"]], typed["total"]) == (radar, len(radar)), search


async def _seed(client: httpx.AsyncClient, clock: ManualClock) -> list[str]:
    ids = []
    for number, (name, device_id) in enumerate(SENSORS):
        clock.advance(1)
        kind = "RADAR" if number % 3 == 0 else "CAMERA"
        ids.append((await make_sensor(client, name=name, deviceId=device_id, type=kind))["id"])
    return ids


@pytest.mark.parametrize("few", [100, 0])
async def test_search_equals_the_scan_for_every_pattern(
    client: httpx.AsyncClient, clock: ManualClock, db: Database, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    # SQLite reads the page of a search matching few sensors from the index's matches, and walks
    # the sort index otherwise: with FEW_MATCHES 0, every search here walks.
    monkeypatch.setattr(reads, "FEW_MATCHES", few)
    await _seed(client, clock)
    # the data really exercises the patterns
    assert (len(await _scan(db, "cam")), len(await _scan(db, "%_")), len(await _scan(db, "a\\"))) == (2, 1, 0)
    await _check_all(client, db)


async def test_search_follows_updates_and_deletes(
    client: httpx.AsyncClient, clock: ManualClock, db: Database
) -> None:
    ids = await _seed(client, clock)
    watched = ["cam", "camera abay", "Камера", "renamed", "new-dev", "100%", "aaaa", "ärger"]
    await result(client, "sensors.update", {"id": ids[0], "name": "Renamed Camera"}, headers=OPERATOR)
    await result(client, "sensors.update", {"id": ids[1], "deviceId": "NEW-DEV-2"}, headers=OPERATOR)
    await result(client, "sensors.update", {"id": ids[2], "status": "MAINTENANCE"}, headers=OPERATOR)
    await result(client, "sensors.delete", {"id": ids[5]}, headers=OPERATOR)  # soft delete
    await result(client, "sensors.delete", {"id": ids[9]}, headers=OPERATOR)
    await _check_all(client, db, watched)
    # KAM-1 is deleted; KAM-2 is upper case: SQLite's LIKE folds ASCII only, PostgreSQL's ILIKE all
    assert await _scan(db, "Камера") == ([] if db.engine == "sqlite" else [ids[6]])
    assert (await result(client, "sensors.getAll", {"search": "renamed"}))["total"] == 1
    # a deleted sensor's deviceId can be reused: the new sensor is found, the old one is not
    clock.advance(1)
    again = await make_sensor(client, name="aaaa again", deviceId="AAA.1")
    page = await result(client, "sensors.getAll", {"search": "aaa.1", "take": 100})
    assert ([s["id"] for s in page["sensors"]], page["total"]) == ([again["id"]], 1)
    await _check_all(client, db, watched)
    # writes outside the API: direct insert, undelete, rename, hard delete (triggers, not code)
    now = clock.now_ms()
    await db.execute(
        "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at, deleted_at) "
        "VALUES ('raw-1', 'Raw Camera', 'RAW-1', 'CAMERA', :now, :now, NULL), "
        "('raw-2', 'Raw deleted camera', 'RAW-2', 'CAMERA', :now, :now, :now)",
        {"now": now},
    )
    await db.execute("UPDATE sensors SET deleted_at = NULL WHERE id = :id", {"id": ids[5]})
    await db.execute("UPDATE sensors SET name = 'Камера renamed' WHERE id = :id", {"id": ids[6]})
    await db.execute("DELETE FROM sensors WHERE id = 'raw-1'")
    await _check_all(client, db, [*watched, "raw", "deleted camera"])
    assert (await result(client, "sensors.getAll", {"search": "raw camera"}))["total"] == 0


def _schema_before_block_6() -> str:
    text = schema_text()
    return text[: text.index("\n-- migration: 6\n")]


async def test_block_6_indexes_the_sensors_already_there(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        assert await migrate(db, _schema_before_block_6()) == 5
        rows: list[dict[str, Any]] = [
            {"id": f"s{n}", "name": name, "device_id": device_id, "deleted": 5 if n % 4 == 3 else None}
            for n, (name, device_id) in enumerate(SENSORS)
        ]
        await db.executemany(
            "INSERT INTO sensors (id, name, device_id, type, created_at, updated_at, deleted_at) "
            "VALUES (:id, :name, :device_id, 'CAMERA', 1, 1, :deleted)",
            rows,
        )
        assert await migrate(db, schema_text()) >= 6
        live = [r["id"] for r in rows if r["deleted"] is None]
        assert await db.fetchval("SELECT COUNT(*) FROM sensors_fts") == len(live)
        for search in ("cam", "aaaa", "Камера", "%_o", "100%", 'd" a'):
            phrase = fts_phrase(search)
            found = await db.fetch("SELECT id FROM sensors_fts WHERE sensors_fts MATCH :q", {"q": phrase})
            assert sorted(r["id"] for r in found) == sorted(await _scan(db, search)), search
        # and the triggers work on the migrated database
        await db.execute("UPDATE sensors SET deleted_at = 9 WHERE id = 's0'")
        assert await _scan(db, "Camera Abay 01") == []
        phrase = fts_phrase("Camera Abay 01")
        assert (
            await db.fetchval("SELECT COUNT(*) FROM sensors_fts WHERE sensors_fts MATCH :q", {"q": phrase})
            == 0
        )
    finally:
        await db.close()


async def test_sqlite_lower_folds_ascii_only(tmp_path: Path) -> None:
    # The index stores lower(name): it must fold exactly what LIKE folds (no ICU build). The
    # index exists on SQLite only, so this checks SQLite whichever engine the suite runs on.
    sqlite = await open_database(f"sqlite:///{tmp_path / 'fold.db'}")
    try:
        assert await sqlite.fetchval("SELECT lower('AZaz Ä БЖ \u212a')") == "azaz Ä БЖ \u212a"
        assert await sqlite.fetchval("SELECT 'б' LIKE 'Б'") == 0
    finally:
        await sqlite.close()


def test_which_searches_use_the_index() -> None:
    assert fts_phrase("ab") is None
    assert fts_phrase("a\0b") is None
    assert fts_phrase('AB"c') == '"ab""c"'
    assert fts_phrase("ÄБC") == '"ÄБc"'
    # SQLite counts a search alone of 3+ characters in its index; the page walks the sort index.
    page, count, params, indexed = list_query(SensorListInput(search="cam-01"), "sqlite")
    assert indexed and count == FTS_COUNT and params["fts"] == '"cam-01"'
    assert f"({FTS_COUNT}) AS total" in page and "sensors_fts" not in page.replace(FTS_COUNT, "")
    assert "sensors_fts f CROSS JOIN" in list_query(SensorListInput(search="cam-01"), "sqlite", few=True).page
    assert list_query(SensorListInput(search="camera"), "postgresql").indexed
    for spec, engine in [
        (SensorListInput(search="ca"), "sqlite"),
        (SensorListInput(search="cam-01", type="RADAR"), "sqlite"),
        (SensorListInput(search="ca"), "postgresql"),
        (SensorListInput(search="camera", status="ERROR"), "postgresql"),
    ]:
        page, count, params, indexed = list_query(spec, engine)
        assert not indexed and "sensors_fts" not in page and "fts" not in params, (spec, engine)
        assert list_query(spec, engine, few=True).page == page  # nothing to read first


async def test_both_pages_of_a_search_are_the_same(db: Database) -> None:
    # The page read from the index's matches equals the page of the walk, for every pattern,
    # order and slice.
    await db.executemany(
        "INSERT INTO sensors (id, name, device_id, type, last_heartbeat_at, created_at, updated_at, "
        "deleted_at) VALUES (:id, :name, :device_id, :type, :heard, :at, :at, :deleted)",
        [
            {
                "id": f"s{n:02d}", "name": name, "device_id": device_id, "type": "CAMERA",
                "heard": None if n % 3 == 0 else n % 4, "at": n % 5, "deleted": 9 if n == 4 else None,
            }
            for n, (name, device_id) in enumerate(SENSORS)
        ],
    )  # fmt: skip
    compared = 0
    for search in PATTERNS:
        for sort_by, order in [("createdAt", "desc"), ("name", "asc"), ("lastHeartbeat", "desc")]:
            for skip, take in [(0, 100), (1, 2), (50, 10)]:
                spec = SensorListInput(search=search, sort_by=sort_by, sort_order=order, skip=skip, take=take)
                pages = []
                for few in (False, True):
                    query = list_query(spec, db.engine, few=few)
                    pages.append([(r["id"], r["total"]) for r in await db.fetch(query.page, query.params)])
                assert pages[0] == pages[1], (search, sort_by, skip)
                compared += bool(pages[0]) and query.indexed
    assert compared > 50
