"""`sensors.*` reads: the paged list, the map list, one sensor, and the dashboard counts.

All public, as documented. None of them ever carries key material (only `apiKeyPrefix`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from procedures.paging import contains_sql, like_contains, page_count
from procedures.sensors import examples
from procedures.sensors.rows import (
    SENSOR_SELECT,
    SENSOR_SELECT_MATCHES,
    SENSOR_SELECT_TOTAL,
    coordinates,
    location_ref,
    not_found,
    optional_iso,
    sensor_fields,
    sensor_from_row,
)
from procedures.sensors.schemas import (
    SENSOR_STATUSES,
    SENSOR_TYPES,
    MapSensor,
    SensorDetail,
    SensorIdInput,
    SensorListInput,
    SensorPage,
    SensorRef,
    SensorStats,
)
from tvms.rpc import PUBLIC, Context, Router

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
# A search matching at most this many sensors gets its page from the trigram index's matches
# (sorted: ~1.3 µs each) instead of walking the sort index until `take` of them turn up (which,
# for a rare match, reads every row: ~2 ms for 10,000 sensors). Measured crossover: ~120 matches.
RARE_MATCHES = 100
# How many sensors each recent search phrase matched: a plan hint only, never a result. The
# statement either plan runs computes its own total in its own snapshot.
_matches: OrderedDict[str, int] = OrderedDict()
_MATCHES_KEPT = 512
# SQLite's LIKE and lower() fold ASCII letters only; so does this (str.lower() would fold all).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fts_phrase(search: str | None, engine: str) -> str | None:
    """The FTS5 query for `search` on SQLite's trigram index (schema block 6), or None to scan.

    One quoted phrase (`"` doubled), so every character is plain text. The index holds
    lower(name) and lower(device_id), case-sensitive trigrams; the phrase is the search lowered
    the same way, so it matches exactly the rows `LIKE '%search%'` matches. NUL is left to the scan.
    """
    if engine != "sqlite" or search is None or len(search) < _FTS_MIN_CHARS or "\0" in search:
        return None
    return '"' + search.translate(_ASCII_LOWER).replace('"', '""') + '"'


def _filters(input: SensorListInput, engine: str) -> tuple[str, dict[str, Any]]:
    where = ["s.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if input.search:
        # `%`, `_` and `\` in the search are plain characters (escaped, then bound).
        where.append(contains_sql(engine, ("s.name", "s.device_id")))
        params["search"] = like_contains(input.search)
        fts = fts_phrase(input.search, engine)
        if fts is not None:
            params["fts"] = fts  # for the count only: the page walks the sort index (see _count_sql)
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
    matched few sensors last time (`seems_rare`; see `list_queries`).
    """
    if not params:
        return _LIVE_COUNT_SQLITE if engine == "sqlite" else _LIVE_COUNT_POSTGRESQL
    if "fts" in params:
        if params.keys() == {"search", "fts"}:
            return "(SELECT COUNT(*) FROM sensors_fts WHERE sensors_fts MATCH :fts)"
        return (
            f"(SELECT COUNT(*) FROM sensors s WHERE {where} AND "
            "s.id IN (SELECT id FROM sensors_fts WHERE sensors_fts MATCH :fts))"
        )
    return f"(SELECT COUNT(*) FROM sensors s WHERE {where})"


def seems_rare(fts: str | None) -> bool:
    """Whether `fts` matched at most RARE_MATCHES sensors when it was last searched for."""
    seen = None if fts is None else _matches.get(fts)
    return seen is not None and seen <= RARE_MATCHES


def _remember(fts: str, total: int) -> None:
    _matches[fts] = total
    _matches.move_to_end(fts)
    if len(_matches) > _MATCHES_KEPT:
        _matches.popitem(last=False)


def list_queries(
    input: SensorListInput, engine: str, *, rare: bool = False
) -> tuple[str, str, dict[str, Any]]:
    """`sensors.getAll`'s SQL: (the page statement, its scalar count expression, the parameters).

    `rare`: the search (3+ characters, SQLite) is expected to match few sensors, so the page is
    read from the index's matches, sorted, with their count as `total` (one statement, one
    snapshot). Otherwise the page walks the sort index and `total` is a scalar subquery.
    Shared with bench/sensors_bench.py so that the plans it prints are of the statements run here.
    """
    where, params = _filters(input, engine)
    count = _count_sql(where, engine, params)
    order = _ORDER[(input.sort_by, input.sort_order)]
    paging = {"take": input.take, "skip": input.skip}
    if rare and "fts" in params:
        page = (
            f"{SENSOR_SELECT_MATCHES} WHERE f.sensors_fts MATCH :fts AND {where} "
            f"ORDER BY {order} LIMIT :take OFFSET :skip"
        )
        return page, count, {**params, **paging}
    cheap = not params
    # A cheap count also guards OFFSET: past the end, LIMIT 0 ends the statement before it
    # walks every row only to skip it. (An expensive count is not repeated for that.)
    limit = f"CASE WHEN :skip < {count} THEN :take ELSE 0 END" if cheap and input.skip else ":take"
    # The page plus the total as an uncorrelated scalar subquery: evaluated once, in the same read
    # snapshot as the page, so the two always agree.
    page = (
        f"{SENSOR_SELECT_TOTAL.format(total=count)} WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET :skip"
    )
    return page, count, {**params, **paging}


@router.query("getAll", auth=PUBLIC, examples=examples.GET_ALL)
async def get_all(ctx: Context, input: SensorListInput) -> SensorPage:
    """Sensors, a page at a time: search by name or deviceId, filter, sort.

    Filters: `type`, `status`, `locationId`, `parentSensorId` (the devices under a gateway).
    Sorted by `createdAt` descending unless `sortBy`/`sortOrder` say otherwise.
    """
    fts = fts_phrase(input.search, ctx.db.engine)
    page, count, params = list_queries(input, ctx.db.engine, rare=seems_rare(fts))
    rows = await ctx.db.fetch(page, params)  # one round trip in the common case
    if rows:
        total = int(rows[0]["total"])
    elif input.skip == 0:
        total = 0  # the first page is empty: nothing matches
    else:  # past the end: the total still has to be counted
        total = int(await ctx.db.fetchval(f"SELECT {count}", params))
    filtered = (input.type, input.status, input.location_id, input.parent_sensor_id) != (None,) * 4
    if fts is not None and not filtered:
        _remember(fts, total)  # the search's own match count (other filters would narrow it)
    return SensorPage(
        sensors=[sensor_from_row(row) for row in rows],
        total=total,
        page_count=page_count(total, input.take),
    )


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
    return [
        MapSensor(
            id=row["id"],
            name=row["name"],
            device_id=row["device_id"],
            type=row["type"],
            status=row["status"],
            ip_address=row["ip_address"],
            coordinates=coordinates(row),
            location_id=row["location_id"],
            parent_sensor_id=row["parent_sensor_id"],
            last_heartbeat=optional_iso(row["last_heartbeat_at"]),
            location=location_ref(row),
        )
        for row in rows
    ]


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
