"""events.ingest: per-item validation, idempotency (also concurrent), gateways, auth, limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import msgspec

from procedures.events.ingest import new_event_ids
from tests.events.factories import T0, event
from tests.support import as_device, as_role, call, error, result
from tvms.clock import ManualClock, iso_ms
from tvms.db import Database


async def ingest(client: httpx.AsyncClient, items: list[Any], device: str = "sensor-1") -> Any:
    return await result(client, "events.ingest", {"events": items}, headers=as_device(device))


async def count(db: Database, where: str = "1 = 1", params: dict[str, Any] | None = None) -> int:
    value = await db.fetchval(f"SELECT COUNT(*) FROM events WHERE {where}", params)
    return int(value)


async def test_ingest_stores_each_event(
    client: httpx.AsyncClient, sensors: Database, clock: ManualClock
) -> None:
    body = await ingest(client, [event(1), event(2, type="SPEEDING"), event(3, type="TRAFFIC_COUNT")])
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 0, 0)
    assert [r["status"] for r in body["receipts"]] == ["CREATED"] * 3
    assert [r["externalId"] for r in body["receipts"]] == ["ext-1", "ext-2", "ext-3"]
    rows = await sensors.fetch(
        "SELECT id, sensor_id, location_id, received_at, is_violation, review_status, plate, speed_kmh"
        " FROM events ORDER BY external_id"
    )
    assert [row["id"] for row in rows] == [r["id"] for r in body["receipts"]]
    assert {row["sensor_id"] for row in rows} == {"sensor-1"}
    assert {row["location_id"] for row in rows} == {"loc-1"}
    assert {row["received_at"] for row in rows} == {clock.now_ms()}
    assert [bool(row["is_violation"]) for row in rows] == [False, True, False]
    assert [row["review_status"] for row in rows] == [None, "PENDING", None]
    assert rows[1]["speed_kmh"] == 92.5
    last = await sensors.fetchval("SELECT last_event_at FROM sensors WHERE id = 'sensor-1'")
    assert last == clock.now_ms()
    assert await sensors.fetchval("SELECT last_event_at FROM sensors WHERE id = 'sensor-2'") is None


async def test_retry_is_idempotent(client: httpx.AsyncClient, sensors: Database) -> None:
    first = await ingest(client, [event(n) for n in range(10)])
    again = await ingest(client, [event(n) for n in range(12)])
    assert (again["accepted"], again["duplicates"]) == (2, 10)
    assert [r["id"] for r in again["receipts"][:10]] == [r["id"] for r in first["receipts"]]
    assert {r["status"] for r in again["receipts"][:10]} == {"DUPLICATE"}
    assert await count(sensors) == 12


async def test_same_batch_twice_at_the_same_moment(client: httpx.AsyncClient, sensors: Database) -> None:
    batch = [event(n) for n in range(200)]
    answers = await asyncio.gather(*(ingest(client, batch) for _ in range(4)))
    assert await count(sensors) == 200
    assert sum(a["accepted"] for a in answers) == 200
    assert sum(a["duplicates"] for a in answers) == 600
    ids = [[r["id"] for r in a["receipts"]] for a in answers]
    assert ids[0] == ids[1] == ids[2] == ids[3]


async def test_duplicate_inside_one_batch(client: httpx.AsyncClient, sensors: Database) -> None:
    body = await ingest(client, [event(1), event(1, type="TRAFFIC_COUNT")])
    assert [r["status"] for r in body["receipts"]] == ["CREATED", "DUPLICATE"]
    assert body["receipts"][0]["id"] == body["receipts"][1]["id"]
    assert await count(sensors) == 1


async def test_invalid_items_are_rejected_alone(client: httpx.AsyncClient, sensors: Database) -> None:
    bad: list[Any] = [
        {"type": "ANPR_READ", "occurredAt": iso_ms(T0), "plate": "1ABC"},  # no externalId
        event(10, type="NOT_A_TYPE"),
        event(11, occurredAt="yesterday"),
        event(12, occurredAt="2024-01-01T00:00:00"),  # no time zone
        event(13, speedKmh="fast"),
        event(14, speedKmh=10_000),
        event(15, plateConfidence=1.5),
        event(16, unknownField=True),
        event(17, plate="'; DROP TABLE events; --"),
        event(18, type="ANPR_READ", plate=None),
        event(19, type="SPEEDING", speedKmh=None),
        event(20, occurredAt=iso_ms(1_700_000_000_000 + 3_600_000)),  # an hour in the future
        event(21, occurredAt="1990-01-01T00:00:00Z"),
        event(22, attributes={"blob": "x" * 5000}),
        event(23, lane=-1),
        "not an object",
        None,
        {"externalId": "has space", "type": "CONGESTION", "occurredAt": iso_ms(T0)},
        event(24, deviceId="dev-sensor-2"),  # not this device's child
    ]
    items = [event(1), *bad, event(2)]
    body = await ingest(client, items)
    statuses = [r["status"] for r in body["receipts"]]
    assert statuses == ["CREATED", *["REJECTED"] * len(bad), "CREATED"]
    assert (body["accepted"], body["rejected"]) == (2, len(bad))
    for position, receipt in enumerate(body["receipts"][1:-1], start=1):
        assert receipt["error"].startswith(f"events[{position}]: "), receipt
        assert receipt["id"] is None
    assert body["receipts"][2]["externalId"] == "ext-10"
    assert "speedKmh" in body["receipts"][5]["error"]
    assert await count(sensors) == 2
    assert await sensors.fetchval("SELECT COUNT(*) FROM sensors") == 5  # nothing dropped


async def test_same_external_id_on_two_sensors_is_two_events(
    client: httpx.AsyncClient, sensors: Database
) -> None:
    await ingest(client, [event(1)], device="sensor-1")
    body = await ingest(client, [event(1)], device="sensor-2")
    assert body["accepted"] == 1
    assert await count(sensors) == 2


async def test_gateway_ingests_for_its_children(client: httpx.AsyncClient, sensors: Database) -> None:
    body = await ingest(
        client,
        [
            event(1),
            event(2, deviceId="dev-cam-1"),
            event(3, deviceId="dev-cam-2"),
            event(4, deviceId="dev-sensor-1"),
        ],
        device="gw-1",
    )
    assert [r["status"] for r in body["receipts"]] == ["CREATED", "CREATED", "CREATED", "REJECTED"]
    rows = await sensors.fetch("SELECT external_id, sensor_id, location_id FROM events ORDER BY external_id")
    assert [(r["external_id"], r["sensor_id"], r["location_id"]) for r in rows] == [
        ("ext-1", "gw-1", "loc-1"),
        ("ext-2", "cam-1", "loc-2"),
        ("ext-3", "cam-2", None),
    ]
    # a child cannot send for its gateway or its sibling
    child = await ingest(
        client, [event(5, deviceId="dev-gw-1"), event(6, deviceId="dev-cam-2")], device="cam-1"
    )
    assert [r["status"] for r in child["receipts"]] == ["REJECTED", "REJECTED"]
    last = {r["id"]: r["last_event_at"] for r in await sensors.fetch("SELECT id, last_event_at FROM sensors")}
    assert last["cam-1"] is not None and last["cam-2"] is not None and last["gw-1"] is not None


async def test_ingest_auth(client: httpx.AsyncClient, sensors: Database) -> None:
    params = {"events": [event(1)]}
    assert (await error(client, "events.ingest", params))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "events.ingest", params, headers=as_role("ADMIN")))["data"][
        "code"
    ] == "FORBIDDEN"
    unknown = await error(client, "events.ingest", params, headers=as_device("no-such-sensor"))
    assert unknown["data"]["code"] == "FORBIDDEN"
    await sensors.execute("UPDATE sensors SET deleted_at = 1 WHERE id = 'sensor-2'")
    deleted = await error(client, "events.ingest", params, headers=as_device("sensor-2"))
    assert deleted["data"]["code"] == "FORBIDDEN"
    assert await count(sensors) == 0


async def test_batch_limits(client: httpx.AsyncClient, sensors: Database) -> None:
    device = as_device("sensor-1")
    for params in (
        {"events": []},
        {"events": [event(n) for n in range(501)]},
        {"events": "x"},
        {},
        {"events": [event(1)], "x": 1},
    ):
        body = await call(client, "events.ingest", params, headers=device)
        assert body["error"]["code"] == -32602, params if len(str(params)) < 200 else "501 items"
    full = await ingest(client, [event(n) for n in range(500)])
    assert full["accepted"] == 500
    assert await count(sensors) == 500


async def test_control_characters_are_rejected_alone(client: httpx.AsyncClient, sensors: Database) -> None:
    # a NUL cannot be stored in PostgreSQL text: it must cost that one item, not the whole batch
    body = await ingest(
        client, [event(1), event(2, direction="NORTH\u0000BOUND"), event(3, vehicleClass="car\n"), event(4)]
    )
    assert [r["status"] for r in body["receipts"]] == ["CREATED", "REJECTED", "REJECTED", "CREATED"]
    assert "direction" in body["receipts"][1]["error"]
    assert (await ingest(client, [event(6, externalId="ext-6\n")]))["rejected"] == 1
    unicode = await ingest(client, [event(5, direction="Север → юг", attributes={"note": "a\u0000b"})])
    assert unicode["accepted"] == 1
    row = await sensors.fetchrow("SELECT direction, attributes FROM events WHERE external_id = 'ext-5'")
    assert row is not None and row["direction"] == "Север → юг"
    assert msgspec.json.decode(row["attributes"]) == {"note": "a\u0000b"}
    assert await count(sensors) == 3


async def test_values_are_stored_exactly(client: httpx.AsyncClient, sensors: Database) -> None:
    body = await ingest(
        client,
        [
            event(
                1,
                type="SPEEDING",
                speedKmh=0.1 + 0.2,
                speedLimitKmh=60,
                plateConfidence=1,
                confidence=0.123456789012345,
                lane=0,
                direction='"quoted" \\ back',
                vehicleClass="car",
            ),
            event(2, type="TRAFFIC_COUNT"),
        ],
    )
    assert body["accepted"] == 2
    rows = await sensors.fetch(
        "SELECT speed_kmh, speed_limit_kmh, plate_confidence, confidence, lane, direction, vehicle_class,"
        " plate, occurred_at, is_violation, review_status, attributes FROM events ORDER BY external_id"
    )
    first, second = rows
    assert first["speed_kmh"] == 0.1 + 0.2 and first["speed_limit_kmh"] == 60.0
    assert first["plate_confidence"] == 1.0 and first["confidence"] == 0.123456789012345
    assert first["lane"] == 0 and first["direction"] == '"quoted" \\ back' and first["vehicle_class"] == "car"
    assert first["occurred_at"] == T0 + 1000 and bool(first["is_violation"]) is True
    assert first["review_status"] == "PENDING" and first["attributes"] is None
    assert second["plate"] is None and second["speed_kmh"] is None and second["lane"] is None
    assert bool(second["is_violation"]) is False and second["review_status"] is None


async def test_gateway_retry_mixes_created_and_duplicate(
    client: httpx.AsyncClient, sensors: Database, clock: ManualClock
) -> None:
    first = await ingest(client, [event(1, deviceId="dev-cam-1"), event(2)], device="gw-1")
    clock.advance(1)
    again = await ingest(
        client,
        [event(3, deviceId="dev-cam-2"), event(1, deviceId="dev-cam-1"), event(2), event(2)],
        device="gw-1",
    )
    assert [r["status"] for r in again["receipts"]] == ["CREATED", "DUPLICATE", "DUPLICATE", "DUPLICATE"]
    assert again["receipts"][1]["id"] == first["receipts"][0]["id"]
    assert again["receipts"][2]["id"] == again["receipts"][3]["id"] == first["receipts"][1]["id"]
    last = {r["id"]: r["last_event_at"] for r in await sensors.fetch("SELECT id, last_event_at FROM sensors")}
    # only the sensor that got a new event moves its lastEventAt
    assert last["cam-2"] == clock.now_ms() and last["cam-1"] == last["gw-1"] == clock.now_ms() - 1000
    assert await count(sensors) == 3


def test_new_event_ids_are_uuid7() -> None:
    ids = new_event_ids(1000)
    assert len(set(ids)) == 1000
    for value in ids[:50]:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert abs(int(ids[0].replace("-", "")[:12], 16) - time.time_ns() // 1_000_000) < 60_000
