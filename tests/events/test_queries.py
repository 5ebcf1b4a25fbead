"""events.getAll (filters, keyset pages stable under concurrent inserts), getById, auth."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.events.factories import T0, event
from tests.events.test_ingest import ingest
from tests.support import as_device, as_role, error, result
from tvms.clock import iso_ms
from tvms.db import Database

VIEWER = as_role("VIEWER")


async def get_all(client: httpx.AsyncClient, **params: Any) -> Any:
    return await result(client, "events.getAll", params, headers=VIEWER)


async def walk(client: httpx.AsyncClient, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await get_all(client, **params, **({"cursor": cursor} if cursor else {}))
        ids += [e["id"] for e in page["events"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return ids


async def test_pages_are_newest_first_without_overlap_or_gap(
    client: httpx.AsyncClient, sensors: Database
) -> None:
    # ties on occurredAt (5 events per millisecond) exercise the id tie-break
    items = [event(n, at=T0 + (n // 5)) for n in range(53)]
    await ingest(client, items)
    expected = [
        row["id"] for row in await sensors.fetch("SELECT id FROM events ORDER BY occurred_at DESC, id DESC")
    ]
    assert await walk(client, take=7) == expected
    first = await get_all(client, take=10)
    assert len(first["events"]) == 10 and first["nextCursor"]
    assert first["events"][0]["occurredAt"] == iso_ms(T0 + 10)
    everything = await get_all(client, take=500)
    assert everything["nextCursor"] is None and len(everything["events"]) == 53


async def test_pages_stay_stable_while_events_arrive(client: httpx.AsyncClient, sensors: Database) -> None:
    await ingest(client, [event(n, at=T0 + n * 10) for n in range(30)])
    before = await walk(client, take=30)
    seen: list[str] = []
    page = await get_all(client, take=8)
    seen += [e["id"] for e in page["events"]]
    n = 1000
    while page["nextCursor"]:
        # newer events, and events exactly at the cursor's time, arrive between pages
        last_at = page["events"][-1]["occurredAt"]
        await ingest(client, [event(n, at=T0 + 10_000), event(n + 1, occurredAt=last_at)])
        n += 2
        page = await get_all(client, take=8, cursor=page["nextCursor"])
        seen += [e["id"] for e in page["events"]]
    assert len(seen) == len(set(seen))  # no overlap
    assert [i for i in seen if i in set(before)] == before  # no gap, same order


async def test_filters(client: httpx.AsyncClient, sensors: Database) -> None:
    await ingest(
        client, [event(1, type="SPEEDING", plate="777 KZ 02"), event(2), event(3, type="TRAFFIC_COUNT")]
    )
    await ingest(client, [event(4, type="RED_LIGHT", deviceId="dev-cam-1")], device="gw-1")
    await ingest(client, [event(5, type="CONGESTION")], device="sensor-2")

    async def types(**params: Any) -> list[str]:
        page = await get_all(client, **params)
        return sorted(e["externalId"] for e in page["events"])

    assert await types(types=["SPEEDING", "RED_LIGHT"]) == ["ext-1", "ext-4"]
    assert await types(sensorId="sensor-2") == ["ext-5"]
    assert await types(sensorId="cam-1") == ["ext-4"]
    assert await types(locationId="loc-2") == ["ext-4", "ext-5"]
    assert await types(plate="777 kz 02") == ["ext-1"]
    assert await types(reviewStatus="PENDING") == ["ext-1", "ext-4"]
    assert await types(**{"from": iso_ms(T0 + 2000), "to": iso_ms(T0 + 4000)}) == ["ext-2", "ext-3", "ext-4"]
    assert await types(sensorId="x' OR '1'='1") == []
    assert await types(types=["ANPR_READ"], locationId="loc-1") == ["ext-2"]
    one = (await get_all(client, sensorId="sensor-1", types=["SPEEDING"]))["events"][0]
    assert one["plate"] == "777 KZ 02" and one["isViolation"] is True and one["reviewStatus"] == "PENDING"
    assert one["speedKmh"] == 92.5 and one["speedLimitKmh"] == 60 and one["locationId"] == "loc-1"


async def test_bad_query_input(client: httpx.AsyncClient, sensors: Database) -> None:
    forged = base64.urlsafe_b64encode(b'["x", 1]').decode()
    for params in (
        {"take": 0},
        {"take": 501},
        {"cursor": "not-a-cursor!"},
        {"cursor": forged},
        {"types": ["NOPE"]},
        {"types": []},
        {"plate": "'; DROP TABLE events; --"},
        {"from": iso_ms(T0 + 10), "to": iso_ms(T0)},
        {"from": "yesterday"},
        {"sensorId": "x" * 129},
        {"unknown": 1},
    ):
        assert (await error(client, "events.getAll", params, headers=VIEWER))["code"] == -32602, params
    assert await sensors.fetchval("SELECT COUNT(*) FROM events") == 0


async def test_query_auth(client: httpx.AsyncClient, sensors: Database) -> None:
    assert (await error(client, "events.getAll", {}))["data"]["code"] == "UNAUTHORIZED"
    denied = await error(client, "events.getAll", {}, headers=as_device("sensor-1"))
    assert denied["data"]["code"] == "FORBIDDEN"
    assert (await error(client, "events.getById", {"id": "x"}))["data"]["code"] == "UNAUTHORIZED"


async def test_get_by_id(client: httpx.AsyncClient, sensors: Database) -> None:
    body = await ingest(client, [event(1, attributes={"color": "white", "make": "Lada"})])
    event_id = body["receipts"][0]["id"]
    detail = await result(client, "events.getById", {"id": event_id}, headers=VIEWER)
    assert detail["id"] == event_id
    assert detail["attributes"] == {"color": "white", "make": "Lada"}
    assert detail["evidence"] == []
    assert detail["receivedAt"] == iso_ms(1_700_000_000_000)
    missing = await error(client, "events.getById", {"id": "nope"}, headers=VIEWER)
    assert missing["data"]["code"] == "NOT_FOUND"
    history = await result(client, "events.getHistory", {"id": event_id}, headers=VIEWER)
    assert history == []


async def test_several_types_page_like_one_ordered_list(client: httpx.AsyncClient, sensors: Database) -> None:
    # several types are read one branch per type and merged: pages must still be one newest-first
    # list without overlap or gap, ties on occurredAt included, with the other filters applied
    kinds = ["SPEEDING", "RED_LIGHT", "ANPR_READ", "WRONG_WAY"]
    await ingest(client, [event(n, type=kinds[n % 4], at=T0 + n // 3) for n in range(60)])
    elsewhere = [event(n, type="SPEEDING", at=T0 + n // 3) for n in range(100, 110)]
    await ingest(client, elsewhere, device="sensor-2")
    expected = [
        row["id"]
        for row in await sensors.fetch(
            "SELECT id FROM events WHERE location_id = 'loc-1'"
            " AND type IN ('SPEEDING', 'RED_LIGHT', 'WRONG_WAY') ORDER BY occurred_at DESC, id DESC"
        )
    ]
    assert len(expected) == 45
    wanted = ["WRONG_WAY", "SPEEDING", "RED_LIGHT", "SPEEDING"]  # order and repeats do not matter
    assert await walk(client, take=4, locationId="loc-1", types=wanted) == expected
    assert await walk(client, take=500, locationId="loc-1", types=wanted) == expected
    everywhere = await walk(client, take=7, types=["SPEEDING", "RED_LIGHT"])
    assert len(everywhere) == 40 and len(set(everywhere)) == 40
