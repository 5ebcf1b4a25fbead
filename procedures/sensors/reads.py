"""`sensors.*` reads: the paged list, the map list, one sensor, and the dashboard counts.

All public, as documented. None of them ever carries key material (only `apiKeyPrefix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from procedures.paging import contains_sql, like_contains, page_count
from procedures.sensors import examples
from procedures.sensors.rows import (
    SENSOR_COLUMNS,
    SENSOR_SELECT,
    SENSORS_WITH_KEYS,
    built_by_position,
    fast_iso,
    location_ref,
    not_found,
    sensor_fields,
    sensor_from_row,
)
from procedures.sensors.schemas import (
    SENSOR_STATUSES,
    SENSOR_TYPES,
    Coordinates,
    MapSensor,
    SensorDetail,
    SensorIdInput,
    SensorListInput,
    SensorLocation,
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

# How many live sensors there are, without reading every live row. SQLite: the table's row count
# (a btree count) minus the soft-deleted ones (a range of `sensors_deleted_idx`). PostgreSQL: the
# number a trigger keeps in `sensor_live_count` (schema block 7). Both read in the statement's
# snapshot, so they are exact.
LIVE_COUNT = {
    "sqlite": "SELECT (SELECT COUNT(*) FROM sensors)"
    " - (SELECT COUNT(*) FROM sensors WHERE deleted_at IS NOT NULL)",
    "postgresql": "SELECT live FROM sensor_live_count WHERE id = 1",
}
# Searches of 3 or more characters are found by trigram indexes: pg_trgm's on PostgreSQL (block 7)
# and, on SQLite, an FTS5 index of the live sensors' lower(name) and lower(device_id) (block 6),
# queried as one quoted phrase lowered the way SQLite's LIKE folds case (ASCII letters only):
# exactly the sensors the LIKE matches, counted without reading them.
FTS_COUNT = "SELECT COUNT(*) FROM sensors_fts WHERE sensors_fts MATCH :fts"
# Up to how many matches a search's page is read from the index's matches, sorted (~1.3 µs each),
# rather than by walking the sort index (measured crossover: ~120 matches).
FEW_MATCHES = 100
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fts_phrase(search: str) -> str | None:
    """`search` as the FTS5 phrase of `FTS_COUNT`, or None where no trigram index can answer it."""
    if len(search) < 3 or "\0" in search:  # trigrams; NUL would end the FTS5 query
        return None
    return '"' + search.translate(_ASCII_LOWER).replace('"', '""') + '"'


class ListQuery(NamedTuple):
    page: str  # the page, with its total as column `total`
    total: str  # the total alone
    params: dict[str, Any]
    indexed: bool  # a search alone that the trigram indexes find: `total` costs little


def list_query(input: SensorListInput, engine: str, *, few: bool = False) -> ListQuery:
    """`sensors.getAll`'s SQL. A new filter is one more condition in `where`; a new sort, one
    more entry in `_ORDER` (with its index in schema.sql).

    `few`: an indexed search known to match few sensors (see `get_all`); the page is read from the
    index's matches, sorted, instead of walking the sort index.
    """
    where = ["s.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if input.search:
        # Case-insensitive (SQLite's LIKE folds ASCII letters, PostgreSQL's ILIKE all, served by
        # the trigram indexes of block 7); `%`, `_` and `\` in the search are plain characters.
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
    filters = " AND ".join(where)

    count = f"SELECT COUNT(*) FROM sensors s WHERE {filters}"
    phrase = fts_phrase(input.search) if input.search else None
    indexed = len(where) == 2 and phrase is not None
    if len(where) == 1:  # no filter
        count = LIVE_COUNT[engine]
    elif indexed and engine == "sqlite":
        count = FTS_COUNT
        params["fts"] = phrase
    source, total = SENSORS_WITH_KEYS, f"({count})"
    if few and indexed:  # the index's matches first, then sorted; the window counts all of them
        total = "COUNT(*) OVER ()"
        if engine == "sqlite":
            source = f"sensors_fts f CROSS JOIN {SENSORS_WITH_KEYS}"
            filters = f"f.sensors_fts MATCH :fts AND s.id = f.id AND {filters}"
        else:  # OFFSET 0 keeps PostgreSQL from merging the subquery into a walk of the sort index
            source = (
                f"(SELECT * FROM sensors s WHERE {filters} OFFSET 0) s "
                "LEFT JOIN device_keys k ON k.sensor_id = s.id AND k.revoked_at IS NULL"
            )
    # The total is read in the page's own snapshot (an uncorrelated subquery is evaluated once):
    # the page and its total always agree. Otherwise the page walks the index of its order until
    # it is full. LIMIT and OFFSET are written in, as the validated integers they are: PostgreSQL
    # costs a bound LIMIT as a tenth of the rows, so it planned such a statement on every call.
    page = (
        f"SELECT {SENSOR_COLUMNS}, {total} AS total FROM {source} WHERE {filters} "
        f"ORDER BY {_ORDER[(input.sort_by, input.sort_order)]} LIMIT {input.take:d} OFFSET {input.skip:d}"
    )
    return ListQuery(page, count, params, indexed)


@router.query("getAll", auth=PUBLIC, examples=examples.GET_ALL)
async def get_all(ctx: Context, input: SensorListInput) -> SensorPage:
    """Sensors, a page at a time: search by name or deviceId, filter, sort.

    Filters: `type`, `status`, `locationId`, `parentSensorId` (the devices under a gateway).
    Sorted by `createdAt` descending unless `sortBy`/`sortOrder` say otherwise.
    """
    page, count, params, indexed = list_query(input, ctx.db.engine)
    if indexed and await ctx.db.fetchval(count, params) <= FEW_MATCHES:
        # Walking the sort index until the page is full reads every sensor when a search matches
        # only a few (~2 ms for 10,000 sensors); the trigram index counts them first (~0.1 ms).
        # On PostgreSQL this also keeps rare and common searches in separate statements, so the
        # plan it keeps for each (a prepared statement's generic plan) suits them.
        page, count, params, _ = list_query(input, ctx.db.engine, few=True)
    rows = await ctx.db.fetch(page, params)
    if rows:
        total = int(rows[0]["total"])
    elif input.skip == 0:
        total = 0  # not even a first page: nothing matches
    else:  # past the end: the total still has to be counted
        total = int(await ctx.db.fetchval(count, params))
    return SensorPage(
        sensors=[sensor_from_row(row) for row in rows],
        total=total,
        page_count=page_count(total, input.take),
    )


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
