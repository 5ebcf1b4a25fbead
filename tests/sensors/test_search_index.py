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
import msgspec
import pytest
from starlette.applications import Starlette

from procedures.paging import contains_sql, like_contains
from procedures.sensors import reads
from procedures.sensors.reads import Searched, fts_phrase, list_queries, read_remembered, search_memo
from procedures.sensors.schemas import SensorListInput
from tests.sensors.helpers import OPERATOR, make_sensor
from tests.support import result
from tvms.cli import schema_text
from tvms.clock import ManualClock
from tvms.db import Database, migrate, open_database

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
            phrase = fts_phrase(search, "sqlite")
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


async def test_search_equals_the_scan_for_every_pattern(
    client: httpx.AsyncClient, clock: ManualClock, db: Database
) -> None:
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
            phrase = fts_phrase(search, "sqlite")
            found = await db.fetch("SELECT id FROM sensors_fts WHERE sensors_fts MATCH :q", {"q": phrase})
            assert sorted(r["id"] for r in found) == sorted(await _scan(db, search)), search
        # and the triggers work on the migrated database
        await db.execute("UPDATE sensors SET deleted_at = 9 WHERE id = 's0'")
        assert await _scan(db, "Camera Abay 01") == []
        phrase = fts_phrase("Camera Abay 01", "sqlite")
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
    assert fts_phrase("ab", "sqlite") is None
    assert fts_phrase("abc", "postgresql") is None
    assert fts_phrase(None, "sqlite") is None
    assert fts_phrase("a\0b", "sqlite") is None
    assert fts_phrase('AB"c', "sqlite") == '"ab""c"'
    assert fts_phrase("ÄБC", "sqlite") == '"ÄБc"'
    page, count, params = list_queries(SensorListInput(search="cam-01"), "sqlite")
    assert count == "(SELECT COUNT(*) FROM sensors_fts WHERE sensors_fts MATCH :fts)"
    assert "sensors_fts" not in page.replace(count, "")  # the page walks the sort index
    assert params["fts"] == '"cam-01"'
    _, count, params = list_queries(SensorListInput(search="ca"), "sqlite")
    assert "sensors_fts" not in count and "fts" not in params
    _, count, params = list_queries(SensorListInput(search="camera"), "postgresql")
    assert "sensors_fts" not in count and "fts" not in params


async def test_every_page_plan_gives_the_same_pages(
    client: httpx.AsyncClient, clock: ManualClock, db: Database
) -> None:
    # A search that matched few sensors last time gets its page from its matches; one that
    # matched many walks the sort index; a remembered search (`SearchMemo`) reads no count, and
    # its page comes from the remembered matches or the walk. All must give exactly the same
    # pages and totals.
    await _seed(client, clock)
    await db.execute("UPDATE sensors SET last_heartbeat_at = created_at % 7")  # ties to break by id
    compared = remembered = 0
    for search in PATTERNS:
        for sort_by, order in [("createdAt", "desc"), ("name", "asc"), ("lastHeartbeat", "desc")]:
            for skip, take, kind in [(0, 100, None), (1, 2, None), (0, 100, "RADAR"), (50, 10, None)]:
                spec = SensorListInput(
                    search=search, sort_by=sort_by, sort_order=order, skip=skip, take=take, type=kind
                )
                pages = []
                for rare, listed in [(False, False), (False, True), (True, True)]:
                    page, _, params = list_queries(spec, db.engine, rare=rare, listed=listed)
                    rows = await db.fetch(page, params)
                    pages.append(([r["id"] for r in rows], [r["total"] for r in rows[:1]]))
                    if listed and kind is None and rows:  # a search alone: what the memo keeps
                        ids = tuple(msgspec.json.decode(rows[0]["matched"], type=list[str]))
                        assert sorted(ids) == sorted(await _scan(db, search)), search
                        assert list(ids[skip : skip + take]) == pages[-1][0], (search, sort_by, skip)
                        for known in (Searched(rows[0]["tag"], len(ids), None), Searched(0, len(ids), ids)):
                            again = await read_remembered(db, spec, known)
                            assert [r["id"] for r in again] == pages[-1][0], (search, known.ids)
                            assert {r["tag"] for r in again} == {rows[0]["tag"]}
                            remembered += 1
                assert pages[0] == pages[1] == pages[2], (search, sort_by, skip, kind)
                compared += bool(pages[0][0])
    assert compared > 100  # most combinations have rows to compare
    assert remembered > 100


async def test_a_search_is_remembered_until_what_it_matches_changes(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: ManualClock,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await _seed(client, clock)
    memo = search_memo(app.state.services)
    key = ("ABAY 0", "createdAt", "desc")
    page = await result(client, "sensors.getAll", {"search": "ABAY 0"})
    assert (page["total"], [s["id"] for s in page["sensors"]]) == (2, [ids[1], ids[0]])
    first = memo.get(key)
    assert first is not None and (first.total, first.ids) == (2, None)  # walked: no ids yet
    # Now known to match few: read from the matches, whose ids are remembered in page order.
    assert await result(client, "sensors.getAll", {"search": "ABAY 0"}) == page
    second = memo.get(key)
    assert second is not None and second.ids == (ids[1], ids[0]) and memo.hits == 0
    assert await result(client, "sensors.getAll", {"search": "ABAY 0"}) == page
    assert memo.hits == 1  # read by id, no count
    one = await result(client, "sensors.getAll", {"search": "ABAY 0", "take": 1, "skip": 1})
    assert (one["total"], [s["id"] for s in one["sensors"]], memo.hits) == (2, [ids[0]], 2)  # a slice
    past = await result(client, "sensors.getAll", {"search": "ABAY 0", "take": 1, "skip": 7})
    assert (past["total"], past["sensors"], past["pageCount"], memo.hits) == (2, [], 2, 3)  # the tag only
    # Status and heartbeat changes do not change what a search matches: still remembered.
    await db.execute("UPDATE sensors SET status = 'ERROR', last_heartbeat_at = 5")
    changed = await result(client, "sensors.getAll", {"search": "ABAY 0"})
    assert {s["status"] for s in changed["sensors"]} == {"ERROR"} and memo.hits == 4
    # A rename does (made outside this process's API: the tag sees it, not the code).
    await db.execute("UPDATE sensors SET name = 'Other' WHERE id = :id", {"id": ids[0]})
    renamed = await result(client, "sensors.getAll", {"search": "ABAY 0"})
    assert (renamed["total"], [s["id"] for s in renamed["sensors"]]) == (1, [ids[1]]) and memo.hits == 4
    gone = await result(client, "sensors.getAll", {"search": "ABAY 0", "take": 1, "skip": 7})
    assert (gone["total"], gone["sensors"], memo.hits) == (1, [], 5)  # remembered again after the rename
    # Too many matches to remember their ids: the remembered page walks the sort index instead.
    monkeypatch.setattr(reads, "ORDERED_MATCHES", 0)
    await result(client, "sensors.getAll", {"search": "abay"})
    assert await result(client, "sensors.getAll", {"search": "abay"}) == renamed and memo.hits == 6
    entry = memo.get(("abay", "createdAt", "desc"))
    assert entry is not None and (entry.total, entry.ids) == (1, None)
    # An order that heartbeats change (lastHeartbeat, status) is never taken from memory.
    await result(client, "sensors.getAll", {"search": "abay", "sortBy": "status"})
    await result(client, "sensors.getAll", {"search": "abay", "sortBy": "status"})
    await db.execute("UPDATE sensors SET status = 'ONLINE' WHERE id = :id", {"id": ids[1]})
    status = await result(client, "sensors.getAll", {"search": "abay", "sortBy": "status"})
    assert [s["status"] for s in status["sensors"]] == ["ONLINE"] and memo.hits == 7
    entry = memo.get(("abay", "status", "desc"))
    assert entry is not None and entry.ids == (ids[1],)  # read by id, sorted by the statement


def test_the_memo_keeps_its_bounds() -> None:
    memo = reads.SearchMemo(kept=3, kept_ids=10)
    for n in range(5):
        memo.put((f"s{n}", "name", "asc"), Searched(1, 2, None))
    assert [memo.get((f"s{n}", "name", "asc")) is not None for n in range(5)] == [False] * 2 + [True] * 3
    memo.put(("big", "name", "asc"), Searched(1, 8, tuple("abcdefgh")))
    memo.put(("more", "name", "asc"), Searched(1, 3, tuple("xyz")))  # 11 ids: the oldest go
    assert memo.get(("big", "name", "asc")) is None and memo.get(("more", "name", "asc")) is not None
    memo.put(("more", "name", "asc"), Searched(2, 1, ("x",)))  # replaced, not added
    memo.put(("other", "name", "asc"), Searched(1, 9, tuple("abcdefghi")))
    assert memo.get(("more", "name", "asc")) == Searched(2, 1, ("x",))
    # least recently used first: a search read again stays
    memo = reads.SearchMemo(kept=2)
    memo.put(("a", "name", "asc"), Searched(1, 1, None))
    memo.put(("b", "name", "asc"), Searched(1, 1, None))
    assert memo.get(("a", "name", "asc")) is not None
    memo.put(("c", "name", "asc"), Searched(1, 1, None))
    assert [memo.get((k, "name", "asc")) is not None for k in "abc"] == [True, False, True]
