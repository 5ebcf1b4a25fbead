"""`sensors.*` reads: the paged list, the map list, one sensor, and the dashboard counts.

All public, as documented. None of them ever carries key material (only `apiKeyPrefix`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

import msgspec

from procedures.paging import contains_sql, in_list, in_params, like_contains, page_count
from procedures.sensors import examples
from procedures.sensors.rows import (
    FTS_MATCH,
    FTS_MATCHES,
    SENSOR_SELECT,
    SensorCache,
    built_by_position,
    fast_iso,
    location_ref,
    not_found,
    sensor_fields,
    sensor_select,
)
from procedures.sensors.schemas import (
    SENSOR_STATUSES,
    SENSOR_TYPES,
    Coordinates,
    MapSensor,
    Sensor,
    SensorDetail,
    SensorIdInput,
    SensorListInput,
    SensorLocation,
    SensorPage,
    SensorRef,
    SensorStats,
)
from tvms.db import Database, Row
from tvms.rpc import PUBLIC, Context, Router, Services

router = Router("sensors")

# sortBy → ORDER BY; `id` breaks ties so pages never overlap. Each has an index (schema block 3).
# Sensors never heard from sort as the stalest (first ascending, last descending): COALESCE to -1
# (heartbeat times are epoch ms, never negative) so that one expression index serves both engines.
_ORDER = {
    ("name", "asc"): "s.name ASC, s.id ASC",
    ("name", "desc"): "s.name DESC, s.id DESC",
    ("type", "asc"): "s.type ASC, s.id ASC",
    ("type", "desc"): "s.type DESC, s.id DESC",
    ("status", "asc"): "s.status ASC, s.id ASC",
    ("status", "desc"): "s.status DESC, s.id DESC",
    ("createdAt", "asc"): "s.created_at ASC, s.id ASC",
    ("createdAt", "desc"): "s.created_at DESC, s.id DESC",
    ("lastHeartbeat", "asc"): "COALESCE(s.last_heartbeat_at, -1) ASC, s.id ASC",
    ("lastHeartbeat", "desc"): "COALESCE(s.last_heartbeat_at, -1) DESC, s.id DESC",
}


# The trigram index finds substrings of 3 characters or more; shorter searches scan.
_FTS_MIN_CHARS = 3
# A search matching at most this many sensors gets its page from its matches, sorted (~1.3 µs
# each), instead of walking the sort index until `take` of them turn up (which, for a rare match,
# reads every row: ~2 ms for 10,000 sensors). Measured crossover: ~120 matches. The plan follows
# what the same search matched last time (`SearchMemo`) or, for a new search of 3+ characters on
# SQLite, the trigram index's count of its matches (~0.1 ms), run first.
RARE_MATCHES = 100
# Sorts whose order of a search's matches cannot change while the search tag stays the same:
# created_at never changes, and a change of name, type or id gives a new tag (schema block 8/9).
_STABLE_SORTS = frozenset({"createdAt", "name", "type"})
# In a stable sort, a search matching at most this many sensors has the ids of all its matches
# remembered in page order, so that any page is a slice of them read by id. A memory bound only.
ORDERED_MATCHES = 5_000
# A page whose sensor changed between its statement and the read of that sensor's row is read
# again, this many times, before it is read with full rows (`_read_page`).
_VERSION_ATTEMPTS = 2
# SQLite's LIKE and lower() fold ASCII letters only; so does this (str.lower() would fold all).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Read by every statement whose total may be remembered, in the statement's own snapshot.
_TAG = "(SELECT tag FROM sensor_search_tag WHERE id = 1) AS tag"


class Searched(NamedTuple):
    """What a search alone (no other filter) matched in a snapshot whose search tag was `tag`."""

    tag: int
    total: int
    ids: tuple[str, ...] | None  # every match in the page's order, when the page was read from them


SearchKey = tuple[str, str, str]  # search, sortBy, sortOrder


class SearchMemo:
    """Recent searches' totals and matches, reused while the sensors' search tag is their `tag`.

    The tag (schema blocks 8 and 9) gets a new random value in every transaction that could change
    which sensors a search matches or their order by createdAt, name or type. A total counted, or
    matches listed, under tag T are therefore exact in any snapshot whose tag is still T, and the
    page statement of a remembered search reads the tag in its own snapshot to check. Heartbeats
    and status changes leave the tag alone; a create, rename, deviceId or type change or delete
    makes every search count once more. Per process, at most `kept` searches and `kept_ids` ids;
    `hits` counts the reuses (tests and diagnostics).
    """

    def __init__(self, kept: int = 512, kept_ids: int = 200_000) -> None:
        self._kept = kept
        self._kept_ids = kept_ids
        self._ids = 0  # ids held by the entries
        self._entries: OrderedDict[SearchKey, Searched] = OrderedDict()
        self.hits = 0

    def get(self, key: SearchKey) -> Searched | None:
        searched = self._entries.get(key)
        if searched is not None:
            self._entries.move_to_end(key)  # the least recently used go first
        return searched

    def put(self, key: SearchKey, searched: Searched) -> None:
        old = self._entries.pop(key, None)
        self._ids += len(searched.ids or ()) - len(old.ids or () if old else ())
        self._entries[key] = searched
        while len(self._entries) > self._kept or self._ids > self._kept_ids:
            _, dropped = self._entries.popitem(last=False)
            self._ids -= len(dropped.ids or ())


_MEMO_KEY = "sensors.searches"
_CACHE_KEY = "sensors.answers"


def search_memo(services: Services) -> SearchMemo:
    """This app's search memo."""
    return services.extra(_MEMO_KEY, SearchMemo, SearchMemo)


def sensor_cache(services: Services) -> SensorCache:
    """This app's sensor answers, by version."""
    return services.extra(_CACHE_KEY, SensorCache, SensorCache)


def _matches_kept(input: SensorListInput) -> int:
    """Up to how many matches `input`'s page is read from the matches (and their ids kept)."""
    return ORDERED_MATCHES if input.sort_by in _STABLE_SORTS else RARE_MATCHES


def fts_phrase(search: str | None, engine: str) -> str | None:
    """The FTS5 query for `search` on SQLite's trigram index (schema block 6), or None to scan.

    One quoted phrase (`"` doubled), so every character is plain text. The index holds
    lower(name) and lower(device_id), case-sensitive trigrams; the phrase is the search lowered
    the same way, so it matches exactly the rows `LIKE '%search%'` matches. NUL is left to the scan.
    """
    if engine != "sqlite" or search is None or len(search) < _FTS_MIN_CHARS or "\0" in search:
        return None
    return '"' + search.translate(_ASCII_LOWER).replace('"', '""') + '"'


def _search_alone(input: SensorListInput) -> bool:
    """A search and no other filter: the case whose total `SearchMemo` keeps."""
    return (
        bool(input.search)
        and (input.type, input.status, input.location_id, input.parent_sensor_id) == (None,) * 4
    )


def _filters(input: SensorListInput, engine: str) -> tuple[str, dict[str, Any]]:
    where = ["s.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if input.search:
        # `%`, `_` and `\` in the search are plain characters (escaped, then bound).
        where.append(contains_sql(engine, ("s.name", "s.device_id")))
        params["search"] = like_contains(input.search)
    for column, value in (
        ("type", input.type),
        ("status", input.status),
        ("location_id", input.location_id),
        ("parent_sensor_id", input.parent_sensor_id),
    ):
        if value is not None:
            where.append(f"s.{column} = :{column}")
            params[column] = value
    return " AND ".join(where), params


_LIVE_COUNT_SQLITE = (
    "(SELECT COUNT(*) FROM sensors) - (SELECT COUNT(*) FROM sensors WHERE deleted_at IS NOT NULL)"
)
_LIVE_COUNT_POSTGRESQL = "(SELECT live FROM sensor_live_count WHERE id = 1)"


_FTS_COUNT = "SELECT COUNT(*) FROM sensors_fts WHERE sensors_fts MATCH :fts"


def _count_sql(where: str, engine: str, params: dict[str, Any]) -> str:
    """A scalar expression: how many live sensors match `where` (same snapshot as the page).

    Unfiltered on SQLite: all rows minus the soft-deleted ones. `COUNT(*)` without a WHERE is
    SQLite's btree count (it counts cells per page without reading them) and the deleted rows are
    a range of `sensors_deleted_idx`; counting the live rows directly walks 10,000 index entries
    (~100x slower). On PostgreSQL a trigger keeps the number in `sensor_live_count` (schema block
    7), read in the page's snapshot (a COUNT(*) there read every row: ~1.5 ms).

    A search of 3+ characters on SQLite counts the trigram index's matches (`fts_phrase`): they are
    exactly the LIKE's, and the index holds live sensors only (kept by the triggers of schema
    block 6), so a search alone reads no row of `sensors` (~0.1 ms instead of a ~1.5 ms scan).
    With other filters too, each match is looked up by id (in a filter index) and checked.
    The page walks the sort index until `take` rows match, which is cheaper than sorting every
    match (in-process: 6.9 ms vs 1.2 ms for a search matching 1,900 sensors), unless the search
    matched few sensors last time (see `list_queries`).
    """
    if not params:
        return _LIVE_COUNT_SQLITE if engine == "sqlite" else _LIVE_COUNT_POSTGRESQL
    if "fts" in params:
        if params.keys() == {"search", "fts"}:
            return f"({_FTS_COUNT})"
        return (
            f"(SELECT COUNT(*) FROM sensors s WHERE {where} AND "
            "s.id IN (SELECT id FROM sensors_fts WHERE sensors_fts MATCH :fts))"
        )
    return f"(SELECT COUNT(*) FROM sensors s WHERE {where})"


def _paging(engine: str, take: int, skip: int) -> tuple[str, str, dict[str, int]]:
    """LIMIT and OFFSET as SQL: (take, skip, their parameters).

    Bound on SQLite. Written in on PostgreSQL, as the integers they are (validated ranges): with
    LIMIT $n the generic plan's cost assumes a tenth of the rows, so PostgreSQL kept planning the
    statement afresh on every call (default page: 205 µs per query, 93 µs with literals).
    """
    if engine == "sqlite":
        return ":take", ":skip", {"take": take, "skip": skip}
    return str(int(take)), str(int(skip)), {}


def _matched_sql(engine: str, where: str, order: str, fts: bool) -> str:
    """A scalar subquery: the ids of every sensor matching `where`, in `order`, as a JSON array.

    Evaluated once per statement (a window function would copy the array into every match's row
    before the LIMIT: 148 ms for 2,100 matches). SQLite 3.40's json_group_array has no ORDER BY:
    it takes the rows in the order its ordered subquery yields them (an aggregate over a subquery
    with ORDER BY is never flattened); the tests compare every such list with the walk's pages.
    """
    if engine == "postgresql":
        return f"(SELECT json_agg(s.id ORDER BY {order}) FROM sensors s WHERE {where})"
    matches, on = (FTS_MATCHES, f"{FTS_MATCH} AND ") if fts else ("sensors s", "")
    ordered = f"SELECT s.id FROM {matches} WHERE {on}{where} ORDER BY {order}"
    return f"(SELECT json_group_array(id) FROM ({ordered}))"


def list_queries(
    input: SensorListInput, engine: str, *, rare: bool = False, listed: bool = False, full: bool = False
) -> tuple[str, str, dict[str, Any]]:
    """`sensors.getAll`'s SQL: (the page statement, its scalar count expression, the parameters).

    `rare`: the search is expected to match few sensors, so the page is read from its matches,
    sorted, with their count as `total` (one statement, one snapshot): on SQLite from the trigram
    index's matches (3+ characters), on PostgreSQL from whichever plan it picks. Otherwise the page
    walks the sort index and `total` is a scalar subquery. A search alone also reads the search
    tag (column `tag`) and, if `listed`, the ids of all its matches in the page's order (`matched`,
    a JSON array), for `SearchMemo`. Of each sensor the page reads its id and version only, or
    with `full` its whole row (see `_read_page`).
    Shared with bench/sensors_bench.py so that the plans it prints are of the statements run here.
    """
    where, params = _filters(input, engine)
    fts = fts_phrase(input.search, engine)
    if fts is not None:
        params["fts"] = fts
    count = _count_sql(where, engine, params)
    order = _ORDER[(input.sort_by, input.sort_order)]
    take, skip, paging = _paging(engine, input.take, input.skip)
    remembered = []
    if _search_alone(input):
        remembered.append(_TAG)
        if listed:
            remembered.append(f"{_matched_sql(engine, where, order, fts is not None)} AS matched")
    if rare and input.search:
        page = (
            f"{sensor_select('COUNT(*) OVER () AS total', *remembered, matches=fts is not None, full=full)}"
            f"WHERE {FTS_MATCH + ' AND ' if fts else ''}{where} "
            f"ORDER BY {order} LIMIT {take} OFFSET {skip}"
        )
        return page, count, {**params, **paging}
    cheap = not params
    # A cheap count also guards OFFSET: past the end, LIMIT 0 ends the statement before it
    # walks every row only to skip it. (An expensive count is not repeated for that.)
    limit = f"CASE WHEN {skip} < {count} THEN {take} ELSE 0 END" if cheap and input.skip else take
    # The page plus the total as an uncorrelated scalar subquery: evaluated once, in the same read
    # snapshot as the page, so the two always agree.
    page = (
        f"{sensor_select(f'{count} AS total', *remembered, full=full)}"
        f"WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {skip}"
    )
    return page, count, {**params, **paging}


@lru_cache(maxsize=256)
def _by_id_sql(count: int, full: bool) -> str:
    """Reading `count` live sensors by id (`:m0`, `:m1`, …), unsorted, with the search tag."""
    return f"{sensor_select(_TAG, full=full)}WHERE s.id IN ({in_list('m', count)}) AND s.deleted_at IS NULL"


def _slice(input: SensorListInput, known: Searched) -> tuple[str, ...] | None:
    """The ids of `input`'s page when it is a slice of `known`'s (all matches, in a stable order)."""
    if known.ids is None or input.sort_by not in _STABLE_SORTS:
        return None
    return known.ids[input.skip : input.skip + input.take]


def remembered_query(
    input: SensorListInput, engine: str, known: Searched, *, full: bool = False
) -> tuple[str, dict[str, Any]]:
    """The page of a search alone whose total is `known`: no count, the search tag instead.

    With the matches' ids in a stable order, the page's own ids (a slice of them) are read by id,
    unsorted: `read_remembered` puts them in the slice's order (SQLite's sort of 10 rows cost more
    than the rest of the statement: 58 µs per page with ORDER BY, 49 µs without). With the ids of
    a few matches in another order, all of them are read and sorted; else the page walks the sort
    index. `full` as in `list_queries`. Shared with bench/sensors_bench.py (plans) and the tests.
    """
    ids = _slice(input, known)
    if ids is not None:
        return _by_id_sql(len(ids), full), in_params("m", ids)
    order = _ORDER[(input.sort_by, input.sort_order)]
    take, skip, paging = _paging(engine, input.take, input.skip)
    if known.ids is None:
        where, params = _filters(input, engine)
        page = f"{sensor_select(_TAG, full=full)}WHERE {where} ORDER BY {order} LIMIT {take} OFFSET {skip}"
        return page, {**params, **paging}
    page = f"{_by_id_sql(len(known.ids), full)} ORDER BY {order} LIMIT {take} OFFSET {skip}"
    return page, {**in_params("m", known.ids), **paging}


async def read_remembered(
    db: Database, input: SensorListInput, known: Searched, *, full: bool = False
) -> list[Row]:
    """The rows of `remembered_query`, in the page's order."""
    page, params = remembered_query(input, db.engine, known, full=full)
    rows = await db.fetch(page, params)
    ids = _slice(input, known)
    if ids is not None:
        position = {id_: n for n, id_ in enumerate(ids)}
        rows.sort(key=lambda row: position[row["id"]])
    return rows


async def _read_page(
    cache: SensorCache, db: Database, read: Callable[[bool], Awaitable[list[Row]]]
) -> tuple[list[Row], list[Sensor]]:
    """A page's rows from `read(full)` and its sensors, built by `cache` where it can.

    `read(False)` reads ids and versions only. If a sensor changed before its row was read, the
    page is read again; after `_VERSION_ATTEMPTS` such tries, once with full rows. So the page, its
    total and every sensor on it always come from one snapshot.
    """
    for _ in range(_VERSION_ATTEMPTS):
        rows = await read(False)
        sensors = await cache.sensors(db, rows)
        if sensors is not None:
            return rows, sensors
    rows = await read(True)
    return rows, [cache.keep(row) for row in rows]


def _page(sensors: list[Sensor], total: int, take: int) -> SensorPage:
    return SensorPage(sensors=sensors, total=total, page_count=page_count(total, take))


@router.query("getAll", auth=PUBLIC, examples=examples.GET_ALL)
async def get_all(ctx: Context, input: SensorListInput) -> SensorPage:
    """Sensors, a page at a time: search by name or deviceId, filter, sort.

    Filters: `type`, `status`, `locationId`, `parentSensorId` (the devices under a gateway).
    Sorted by `createdAt` descending unless `sortBy`/`sortOrder` say otherwise.
    """
    engine, db = ctx.db.engine, ctx.db
    memo, cache = search_memo(ctx.services), sensor_cache(ctx.services)
    key = (input.search or "", input.sort_by, input.sort_order)
    known = memo.get(key) if input.search else None
    alone = _search_alone(input)
    if alone and known is not None and (known.ids is not None or known.total > _matches_kept(input)):
        if _slice(input, known) is not None and input.skip >= known.total:
            # past the end of the remembered matches: only the tag to check
            if await db.fetchval(f"SELECT {_TAG}") == known.tag:
                memo.hits += 1
                return _page([], known.total, input.take)
        else:
            rows, sensors = await _read_page(
                cache, db, lambda full: read_remembered(db, input, known, full=full)
            )
            if rows and rows[0]["tag"] == known.tag:  # nothing changed what the search matches
                memo.hits += 1
                return _page(sensors, known.total, input.take)
    seen = None if known is None else known.total
    if seen is None:
        fts = fts_phrase(input.search, engine)
        if fts is not None:  # a new search: the index's match count picks the plan (a hint only)
            seen = int(await db.fetchval(_FTS_COUNT, {"fts": fts}))
    rare = seen is not None and seen <= RARE_MATCHES
    listed = alone and known is not None and known.total <= _matches_kept(input)
    page, count, params = list_queries(input, engine, rare=rare, listed=listed)

    async def read(full: bool) -> list[Row]:
        statement = list_queries(input, engine, rare=rare, listed=listed, full=True)[0] if full else page
        return await db.fetch(statement, params)

    rows, sensors = await _read_page(cache, db, read)  # one round trip in the common case
    first: Row | None
    if rows:
        first = rows[0]
    elif input.skip == 0:
        return _page([], 0, input.take)  # the first page is empty: nothing matches
    else:  # past the end: the total still has to be counted
        first = await db.fetchrow(f"SELECT {count} AS total{', ' + _TAG if alone else ''}", params)
    assert first is not None  # a SELECT of scalar subqueries always has its row
    total = int(first["total"])
    if alone:
        matched = rows[0]["matched"] if listed and rows else None
        ids = None if matched is None else tuple(msgspec.json.decode(matched, type=list[str]))
        memo.put(key, Searched(int(first["tag"]), total, ids))
    return _page(sensors, total, input.take)


built_by_position(SensorLocation, "id", "name", "address", "type", "latitude", "longitude")
built_by_position(
    MapSensor, "id", "name", "device_id", "type", "status", "ip_address", "coordinates", "location_id",
    "parent_sensor_id", "last_heartbeat", "location",
)  # fmt: skip


@router.query("getAllSensors", auth=PUBLIC, examples=examples.GET_ALL_SENSORS)
async def get_all_sensors(ctx: Context) -> list[MapSensor]:
    """Every sensor with its location, for the map (no paging), ordered by name."""
    rows = await ctx.db.fetch(
        "SELECT s.id, s.name, s.device_id, s.type, s.status, s.ip_address, s.latitude, s.longitude, "
        "s.address, s.location_id, s.parent_sensor_id, s.last_heartbeat_at, "
        "l.id AS l_id, l.name AS l_name, l.address AS l_address, l.type AS l_type, "
        "l.latitude AS l_latitude, l.longitude AS l_longitude "
        "FROM sensors s LEFT JOIN locations l ON l.id = s.location_id "
        "WHERE s.deleted_at IS NULL ORDER BY s.name, s.id"
    )
    locations: dict[str, SensorLocation] = {}  # one per location, shared by its sensors
    sensors = []
    for (id_, name, device_id, type_, status, ip, lat, lon, address, location_id, parent_id, heard,
         l_id, l_name, l_address, l_type, l_lat, l_lon) in cast(list[Sequence[Any]], rows):  # fmt: skip
        location = None
        if l_id is not None:
            location = locations.get(l_id)
            if location is None:
                location = locations[l_id] = SensorLocation(l_id, l_name, l_address, l_type, l_lat, l_lon)
        sensors.append(
            MapSensor(
                id_,
                name,
                device_id,
                type_,
                status,
                ip,
                None if lat is None or lon is None else Coordinates(lat, lon, address),
                location_id,
                parent_id,
                None if heard is None else fast_iso(heard),
                location,
            )
        )
    return sensors


@router.query("getById", auth=PUBLIC, aliases=["getSensorById"], examples=examples.GET_BY_ID)
async def get_by_id(ctx: Context, input: SensorIdInput) -> SensorDetail:
    """One sensor with its location and, for a gateway, the cameras and NVRs under it.

    Also reachable as `sensors.getSensorById`. Unknown or deleted id → NOT_FOUND.
    """
    row = await ctx.db.fetchrow(SENSOR_SELECT + "WHERE s.id = :id AND s.deleted_at IS NULL", {"id": input.id})
    if row is None:
        raise not_found(input.id)
    location = None
    if row["location_id"] is not None:
        place = await ctx.db.fetchrow(
            "SELECT id AS l_id, name AS l_name, address AS l_address, type AS l_type, "
            "latitude AS l_latitude, longitude AS l_longitude FROM locations WHERE id = :id",
            {"id": row["location_id"]},
        )
        location = None if place is None else location_ref(place)
    children = await ctx.db.fetch(
        "SELECT id, name, device_id, type, status FROM sensors "
        "WHERE parent_sensor_id = :id AND deleted_at IS NULL ORDER BY name, id",
        {"id": input.id},
    )
    return SensorDetail(
        **sensor_fields(row),
        location=location,
        children=[
            SensorRef(
                id=c["id"], name=c["name"], device_id=c["device_id"], type=c["type"], status=c["status"]
            )
            for c in children
        ],
    )


@router.query("getStats", auth=PUBLIC)
async def get_stats(ctx: Context) -> SensorStats:
    """Sensor counts for the dashboard: total, by status and by type (every value present)."""
    rows = await ctx.db.fetch(
        "SELECT status, type, COUNT(*) AS n FROM sensors WHERE deleted_at IS NULL GROUP BY status, type"
    )
    by_status: dict[str, int] = dict.fromkeys(SENSOR_STATUSES, 0)
    by_type: dict[str, int] = dict.fromkeys(SENSOR_TYPES, 0)
    for row in rows:
        count = int(row["n"])
        by_status[row["status"]] += count
        by_type[row["type"]] += count
    return SensorStats(
        total=sum(by_status.values()),
        online=by_status["ONLINE"],
        offline=by_status["OFFLINE"],
        maintenance=by_status["MAINTENANCE"],
        error=by_status["ERROR"],
        by_status=dict(by_status),
        by_type=dict(by_type),
    )
