"""The SELECT list every sensor read uses, and turning its rows into wire Structs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any, cast

import msgspec

from procedures.paging import in_list, in_params
from procedures.sensors.schemas import Coordinates, Sensor, SensorLocation
from tvms.clock import iso_ms
from tvms.db import Database, Row, Transaction
from tvms.rpc import ErrorCode, RpcError

# `k` is the sensor's live key (at most one, by a partial unique index): only its prefix is read.
# The column order is relied on by `sensor_from_row` (rows are unpacked by position). `version`
# (schema blocks 10 and 11) changes with every write that changes what the other columns show.
_SENSOR_COLUMNS = """
SELECT s.id, s.name, s.device_id, s.type, s.status, s.ip_address, s.latitude, s.longitude, s.address,
       s.location_id, s.parent_sensor_id, s.firmware_version, s.heartbeat_timeout_s,
       s.last_heartbeat_at, s.last_event_at, s.created_at, s.updated_at, k.prefix AS api_key_prefix,
       s.version"""
_KEY_JOIN = "LEFT JOIN device_keys k ON k.sensor_id = s.id AND k.revoked_at IS NULL\n"
_SENSOR_FROM = "\nFROM sensors s\n" + _KEY_JOIN
SENSOR_SELECT = _SENSOR_COLUMNS + _SENSOR_FROM
# What a list statement reads of each sensor: `SensorCache.sensors` builds the rest.
_VERSION_COLUMNS = "SELECT s.id, s.version"
# The live sensors the trigram index finds for `:fts` (SQLite, schema block 6): FROM and WHERE.
FTS_MATCHES = "sensors_fts f CROSS JOIN sensors s ON s.id = f.id"
FTS_MATCH = "f.sensors_fts MATCH :fts"


def sensor_select(*extra: str, matches: bool = False, full: bool = True) -> str:
    """SENSOR_SELECT with `extra` columns (`<expression> AS <name>`) after the sensor's.

    `matches`: from the trigram index's matches for `:fts` instead of the whole table.
    `full=False`: of each sensor, only `id` and `version` (for `SensorCache.sensors`).
    """
    columns = "".join(f", {column}" for column in extra)
    source = f"\nFROM {FTS_MATCHES if matches else 'sensors s'}\n"
    if full:
        return _SENSOR_COLUMNS + columns + source + _KEY_JOIN
    return _VERSION_COLUMNS + columns + source


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_FAST_LIMIT_MS = (date(9999, 12, 31).toordinal() + 1 - _EPOCH_ORDINAL) * 86_400_000
_SECONDS = [f"{n:02d}." for n in range(60)]
_MILLIS = [f"{n:03d}Z" for n in range(1000)]


@lru_cache(maxsize=4096)
def _minute(minutes: int) -> str:
    """`YYYY-MM-DDTHH:MM:` of a minute since the epoch (a list page repeats few minutes)."""
    days, minute = divmod(minutes, 1440)
    day = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    return f"{day}T{minute // 60:02d}:{minute % 60:02d}:"


def fast_iso(ms: int) -> str:
    """`iso_ms(ms)` ~5x faster: the minute prefix is cached, seconds and millis are looked up.

    A page of sensors formats four timestamps per row; `iso_ms` (datetime + strftime) was the
    largest Python cost of `sensors.getAll`. Outside years 1970..9999 it defers to `iso_ms`.
    """
    if not 0 <= ms < _FAST_LIMIT_MS:
        return iso_ms(ms)
    minutes, rest = divmod(ms, 60_000)
    return _minute(minutes) + _SECONDS[rest // 1000] + _MILLIS[rest % 1000]


def built_by_position(struct: type[msgspec.Struct], *fields: str) -> None:
    """Fail at import unless `struct`'s fields are `fields`, in order: code builds it by position.

    The hot paths of lists build their Structs from positions, not keywords (`Sensor` from 16
    keywords took 3.1 µs, from positions 1.9 µs: 12 µs of every page of 10).
    """
    if struct.__struct_fields__ != fields:
        raise RuntimeError(f"{struct.__name__}'s fields changed: update the code that builds it by position")


built_by_position(Coordinates, "latitude", "longitude", "address")
built_by_position(
    Sensor, "id", "name", "device_id", "type", "status", "ip_address", "coordinates", "location_id",
    "parent_sensor_id", "firmware_version", "api_key_prefix", "heartbeat_timeout_s", "last_heartbeat",
    "last_event_at", "created_at", "updated_at",
)  # fmt: skip


def sensor_from_row(row: Row) -> Sensor:
    """A `Sensor` from a SENSOR_SELECT(_TOTAL) row, unpacked by position (the hot path of lists)."""
    (id_, name, device_id, type_, status, ip, lat, lon, address, location_id, parent_id, firmware,
     timeout, heard, event, created, updated, prefix, *_) = cast(Sequence[Any], row)  # fmt: skip
    return Sensor(
        id_,
        name,
        device_id,
        type_,
        status,
        ip,
        None if lat is None or lon is None else Coordinates(lat, lon, address),
        location_id,
        parent_id,
        firmware,
        prefix,
        timeout,
        None if heard is None else fast_iso(heard),
        None if event is None else fast_iso(event),
        fast_iso(created),
        fast_iso(updated),
    )


@lru_cache(maxsize=128)
def full_rows_sql(count: int) -> str:
    """The full rows of `count` sensors, by id: what `SensorCache.sensors` reads for those it lacks."""
    return f"{SENSOR_SELECT}WHERE s.id IN ({in_list('m', count)})"


class SensorCache:
    """`Sensor` answers as last built, by id, with the row version they were built from.

    A sensor's `version` gets a new random value in every write that changes what its answer shows
    (schema blocks 10 and 11: triggers, whichever process writes), so an answer built from version
    V is exact for any read that finds V. List statements read only ids and versions (SQLite: 10 µs
    for a page of 10, against 27 µs for the 19 columns) and `sensors` builds what it lacks. Per
    process, at most `kept` answers (about 1 kB each); the oldest go first. Answers are shared
    between calls, so `Sensor` is frozen.
    """

    def __init__(self, kept: int = 10_000) -> None:
        self._kept = kept
        self._entries: dict[str, tuple[int, Sensor]] = {}
        self.built = 0  # answers built from full rows (tests and diagnostics)

    def __len__(self) -> int:
        return len(self._entries)

    def keep(self, row: Row) -> Sensor:
        """The sensor of a full SENSOR_SELECT row, kept for later reads of the same version."""
        sensor = sensor_from_row(row)
        entries = self._entries
        entries.pop(sensor.id, None)  # re-inserted last: the oldest stay first
        entries[sensor.id] = (row["version"], sensor)
        if len(entries) > self._kept:
            del entries[next(iter(entries))]
        self.built += 1
        return sensor

    async def sensors(self, db: Database, rows: Sequence[Row]) -> list[Sensor] | None:
        """The sensors of `rows` (id and version first, in page order), or None if one changed.

        Those not kept at their row's version are read by id, and must still have that version:
        otherwise a write came between the two statements, and the caller reads its page again
        (so that the page, its total and every sensor on it come from one snapshot).
        """
        sensors: list[Sensor | None] = []
        missing: dict[str, int] = {}  # id → version
        entries = self._entries
        listed = cast(Sequence[Sequence[Any]], rows)  # by position: id, version
        for row in listed:
            id_, version = row[0], row[1]
            entry = entries.get(id_)
            if entry is not None and entry[0] == version:
                sensors.append(entry[1])
            else:
                missing[id_] = version
                sensors.append(None)
        if not missing:
            return cast(list[Sensor], sensors)
        fetched = await db.fetch(full_rows_sql(len(missing)), in_params("m", list(missing)))
        if len(fetched) != len(missing) or any(row["version"] != missing[row["id"]] for row in fetched):
            return None
        built = {row["id"]: self.keep(row) for row in fetched}
        return [
            built[row[0]] if sensor is None else sensor for row, sensor in zip(listed, sensors, strict=True)
        ]


def sensor_fields(row: Row) -> dict[str, Any]:
    """Keyword arguments for `Sensor`'s subclasses from a SENSOR_SELECT row (same conversion)."""
    return msgspec.structs.asdict(sensor_from_row(row))


def location_ref(row: Row, prefix: str = "l_") -> SensorLocation | None:
    if row[f"{prefix}id"] is None:
        return None
    return SensorLocation(
        id=row[f"{prefix}id"],
        name=row[f"{prefix}name"],
        address=row[f"{prefix}address"],
        type=row[f"{prefix}type"],
        latitude=row[f"{prefix}latitude"],
        longitude=row[f"{prefix}longitude"],
    )


def not_found(sensor_id: str) -> RpcError:
    return RpcError(ErrorCode.NOT_FOUND, f"Sensor '{sensor_id}' not found")


async def load_sensor(db: Transaction, sensor_id: str) -> Sensor:
    """The live sensor `sensor_id`, or NOT_FOUND (deleted sensors are gone for the API)."""
    row = await db.fetchrow(SENSOR_SELECT + "WHERE s.id = :id AND s.deleted_at IS NULL", {"id": sensor_id})
    if row is None:
        raise not_found(sensor_id)
    return sensor_from_row(row)
