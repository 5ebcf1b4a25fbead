"""`events.ingest`: devices push up to 500 events per call, each accepted or refused on its own.

Idempotent on (sensor, externalId): the batch goes in with ONE `INSERT … SELECT … ON CONFLICT DO
NOTHING` whose rows arrive as a single JSON parameter, inside one transaction. When the insert
count equals the number of rows sent, every row is ours and nothing has to be read back (the
common case); otherwise the ids of the rows that already existed are read back in the same
transaction, by a later statement (on PostgreSQL's READ COMMITTED that statement sees a
concurrent batch that committed while our INSERT waited on it), so a retried or concurrently
repeated batch gets the stored ids (DUPLICATE) and never a second row.

Why one statement with a JSON parameter instead of `executemany`: on SQLite every row of an
executemany is a separate step that releases and re-takes the GIL, and in a busy server the
event loop thread holds the GIL in between, so the writer thread queued behind it 500 times per
batch. One statement is one step; the rows are parsed in C. Rows are sorted by (sensor,
externalId) so that two PostgreSQL transactions inserting overlapping keys take their unique-
index locks in the same order and cannot deadlock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from procedures.events.access import calling_sensor
from procedures.events.schemas import (
    NOT_VIOLATIONS,
    EventIn,
    IngestInput,
    IngestResult,
    Receipt,
    to_ms,
)
from tvms.db import Row, Transaction
from tvms.rpc import DEVICE, Context, ErrorCode, Router, RpcError

router = Router("events")

MAX_FUTURE_MS = 5 * 60 * 1000  # device clocks drift; beyond this the timestamp is wrong
MIN_OCCURRED_MS = 946_684_800_000  # 2000-01-01: older is an unset device clock

_decode_batch = msgspec.json.Decoder(list[EventIn]).decode
_decode_item = msgspec.json.Decoder(EventIn).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

COLUMNS = (
    "id",
    "sensor_id",
    "external_id",
    "type",
    "occurred_at",
    "received_at",
    "location_id",
    "plate",
    "plate_confidence",
    "speed_kmh",
    "speed_limit_kmh",
    "lane",
    "direction",
    "vehicle_class",
    "confidence",
    "attributes",
    "is_violation",
    "review_status",
)
_ID, _SENSOR, _EXTERNAL = 0, 1, 2

# One row per parameter set: what the batch statements below do, row by row. The benchmark's raw
# sqlite3.executemany baseline uses it.
INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
    " ON CONFLICT (sensor_id, external_id) DO NOTHING"
)

# :rows is a JSON array of arrays in COLUMNS order. SQLite needs `WHERE true` so that ON CONFLICT
# is not parsed as a join constraint.
_INSERT_SQLITE = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(COLUMNS)))
    + " FROM json_each(:rows) WHERE true ON CONFLICT (sensor_id, external_id) DO NOTHING"
)
_PG_CASTS = {
    "occurred_at": "bigint",
    "received_at": "bigint",
    "plate_confidence": "double precision",
    "speed_kmh": "double precision",
    "speed_limit_kmh": "double precision",
    "lane": "integer",
    "confidence": "double precision",
    "is_violation": "boolean",
}
_INSERT_POSTGRES = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(
        f"(r ->> {n})::{_PG_CASTS[c]}" if c in _PG_CASTS else f"r ->> {n}" for n, c in enumerate(COLUMNS)
    )
    + " FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS t (r)"
    " ON CONFLICT (sensor_id, external_id) DO NOTHING"
)
# :keys is a JSON array of [sensor_id, external_id]; each key is one seek in the unique index.
_STORED_SQLITE = (
    "SELECT e.sensor_id, e.external_id, e.id FROM json_each(:keys) AS k"
    " JOIN events AS e ON e.sensor_id = json_extract(k.value, '$[0]')"
    " AND e.external_id = json_extract(k.value, '$[1]')"
)
_STORED_POSTGRES = (
    "SELECT e.sensor_id, e.external_id, e.id FROM jsonb_array_elements(CAST(:keys AS jsonb)) AS k (v)"
    " JOIN events AS e ON e.sensor_id = k.v ->> 0 AND e.external_id = k.v ->> 1"
)


@dataclass(slots=True)
class _Pending:
    position: int
    key: tuple[str, str]
    row: list[Any] | None  # None: repeats an earlier item of the same batch


def new_event_ids(count: int) -> list[str]:
    """`count` UUIDv7 strings, the layout of `tvms.ids.new_id`, from one urandom call.

    One batch, one millisecond: per-id `uuid.UUID` objects and syscalls were a visible share of
    the ingest profile.
    """
    head = (time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | 0x2 << 62
    keep = (1 << 80) - 1 & ~(0xF << 76 | 0x3 << 62)  # the random bits minus version and variant
    pool = os.urandom(10 * count)
    ids = []
    for n in range(0, 10 * count, 10):
        h = f"{head | int.from_bytes(pool[n : n + 10], 'big') & keep:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


def _rejection(position: int, raw: msgspec.Raw, message: str) -> Receipt:
    external_id = None
    try:
        item = _decode_any(raw)
        if isinstance(item, dict) and isinstance(item.get("externalId"), str):
            external_id = item["externalId"][:128]
    except msgspec.DecodeError:
        pass
    return Receipt(external_id=external_id, status="REJECTED", error=f"events[{position}]: {message}")


def _message(exc: msgspec.ValidationError) -> str:
    message, sep, where = str(exc).rpartition(" - at `")
    return f"{message} (at {where[:-1]})" if sep else str(exc)


def _decode(raws: list[msgspec.Raw], receipts: list[Receipt | None]) -> list[EventIn | None]:
    """Every item decoded, or None where a REJECTED receipt was filled in.

    The whole batch is decoded in one call (one C loop); only if some item is invalid is it
    decoded again item by item, so that the invalid ones are answered alone with their reason.
    """
    try:
        return list(_decode_batch(b"[" + b",".join(raws) + b"]"))
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    items: list[EventIn | None] = []
    for position, raw in enumerate(raws):
        try:
            items.append(_decode_item(raw))
            continue
        except msgspec.ValidationError as exc:
            receipts[position] = _rejection(position, raw, _message(exc))
        except msgspec.DecodeError:
            receipts[position] = _rejection(position, raw, "not a JSON object")
        items.append(None)
    return items


async def _senders(ctx: Context, sensor_id: str) -> dict[str, Row]:
    """The calling sensor and, for a gateway, its children: deviceId → row."""
    rows = await ctx.db.fetch(
        "SELECT id, device_id, location_id, parent_sensor_id FROM sensors"
        " WHERE deleted_at IS NULL AND (id = :me OR parent_sensor_id = :me)",
        {"me": sensor_id},
    )
    if not any(row["id"] == sensor_id for row in rows):
        raise RpcError(ErrorCode.FORBIDDEN, "This device is not registered")
    return {row["device_id"]: row for row in rows}


async def _store(
    ctx: Context, tx: Transaction, rows: list[list[Any]], now: int
) -> dict[tuple[str, str], str]:
    """Insert `rows` (sorted by key) and return key → stored id for every one of them."""
    postgres = ctx.db.engine == "postgresql"
    inserted = await tx.execute(
        _INSERT_POSTGRES if postgres else _INSERT_SQLITE, {"rows": _encode(rows).decode()}
    )
    stored = {(row[_SENSOR], row[_EXTERNAL]): row[_ID] for row in rows}
    if inserted != len(rows):  # some keys existed already: read back the stored ids
        keys = _encode([[row[_SENSOR], row[_EXTERNAL]] for row in rows]).decode()
        for found in await tx.fetch(_STORED_POSTGRES if postgres else _STORED_SQLITE, {"keys": keys}):
            stored[(found["sensor_id"], found["external_id"])] = found["id"]
    created_by = sorted({row[_SENSOR] for row in rows if stored[(row[_SENSOR], row[_EXTERNAL])] == row[_ID]})
    for sensor_id in created_by:  # sorted: concurrent batches lock in one order
        await tx.execute(
            "UPDATE sensors SET last_event_at = :now WHERE id = :id"
            " AND (last_event_at IS NULL OR last_event_at < :now)",
            {"now": now, "id": sensor_id},
        )
    return stored


@router.mutation("ingest", auth=DEVICE)
async def ingest(ctx: Context, input: IngestInput) -> IngestResult:
    """Store up to 500 traffic events from a device (a gateway may send for its children).

    Each item is validated on its own: invalid items are REJECTED with the reason and the others
    are stored. Retrying is safe: an item whose `externalId` this sensor already sent is answered
    DUPLICATE with the stored event's id. `receivedAt` and `locationId` are set by the server.
    """
    device = calling_sensor(ctx)
    senders = await _senders(ctx, device)
    me = next(row for row in senders.values() if row["id"] == device)
    now = ctx.clock.now_ms()
    latest = now + MAX_FUTURE_MS
    receipts: list[Receipt | None] = [None] * len(input.events)
    items = _decode(input.events, receipts)
    ids = new_event_ids(len(items))
    pending: list[_Pending] = []
    rows: list[list[Any]] = []
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(items):
        if item is None:
            continue
        sender = me if item.device_id is None else senders.get(item.device_id)
        if sender is None:
            receipts[position] = Receipt(
                external_id=item.external_id,
                status="REJECTED",
                error=f"events[{position}]: deviceId is neither this device nor one of its children",
            )
            continue
        occurred = to_ms(item.occurred_at)
        if not MIN_OCCURRED_MS <= occurred <= latest:
            receipts[position] = Receipt(
                external_id=item.external_id,
                status="REJECTED",
                error=f"events[{position}]: occurredAt is outside the accepted range (2000 to now)",
            )
            continue
        key = (sender["id"], item.external_id)
        if key in seen:
            pending.append(_Pending(position, key, None))
            continue
        seen.add(key)
        violation = item.type not in NOT_VIOLATIONS
        row = [
            ids[position],
            key[0],
            key[1],
            item.type,
            occurred,
            now,
            sender["location_id"],
            item.plate,
            item.plate_confidence,
            item.speed_kmh,
            item.speed_limit_kmh,
            item.lane,
            item.direction,
            item.vehicle_class,
            item.confidence,
            None if item.attributes is None else _encode(item.attributes).decode(),
            violation,
            "PENDING" if violation else None,
        ]
        rows.append(row)
        pending.append(_Pending(position, key, row))

    stored: dict[tuple[str, str], str] = {}
    if rows:
        rows.sort(key=lambda row: (row[_SENSOR], row[_EXTERNAL]))
        async with ctx.db.transaction() as tx:
            stored = await _store(ctx, tx, rows, now)

    accepted = duplicates = 0
    for entry in pending:
        event_id = stored[entry.key]
        created = entry.row is not None and entry.row[_ID] == event_id
        accepted += created
        duplicates += not created
        receipts[entry.position] = Receipt(
            external_id=entry.key[1], status="CREATED" if created else "DUPLICATE", id=event_id
        )
    final = [receipt for receipt in receipts if receipt is not None]
    return IngestResult(
        accepted=accepted, duplicates=duplicates, rejected=len(final) - accepted - duplicates, receipts=final
    )
