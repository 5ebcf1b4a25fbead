"""Device metrics: batched ingest by devices and gateways, bucketed reads in the system time zone
across daylight-saving changes, retention in bounded chunks, and bad input."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.metrics import delete_old_samples, metrics_retention
from tests.support import as_device, as_role, error, result
from tvms.clock import ManualClock, iso_ms
from tvms.db import Database

GW1 = as_device("gw-1")
VIEWER = as_role("VIEWER")
HOUR = 3_600_000


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


async def berlin(client: httpx.AsyncClient) -> None:
    await result(
        client,
        "system.timezone.updateTimezoneSettings",
        {"timezone": "Europe/Berlin"},
        headers=as_role("ADMIN"),
    )


async def ingest(
    client: httpx.AsyncClient, samples: list[dict[str, Any]], headers: dict[str, str] = GW1
) -> Any:
    return await result(client, "metrics.ingest", {"samples": samples}, headers=headers)


async def series(client: httpx.AsyncClient, sensor_id: str, start: int, end: int, group_by: str) -> Any:
    params = {"sensorId": sensor_id, "from": iso_ms(start), "to": iso_ms(end), "groupBy": group_by}
    return await result(client, "metrics.getSeries", params, headers=VIEWER)


async def test_ingest_is_idempotent_and_covers_children(
    client: httpx.AsyncClient, site: Database, clock: ManualClock
) -> None:
    now = clock.now_ms()
    samples = [
        {
            "at": iso_ms(now - 60_000),
            "cpuPct": 12.5,
            "memoryPct": 40,
            "diskPct": 71,
            "temperatureC": 48.5,
            "uptimeS": 3600,
        },
        {"at": iso_ms(now - 60_000), "deviceId": "dev-cam-1", "fps": 24.8, "bitrateKbps": 4096},
        {"at": iso_ms(now - 60_000), "deviceId": "dev-nvr-1", "recording": True, "storageUsedPct": 63.2},
    ]
    assert await ingest(client, samples) == {"accepted": 3, "duplicates": 0}
    assert await ingest(client, samples) == {"accepted": 0, "duplicates": 3}
    rows = await site.fetch("SELECT sensor_id, fps, recording FROM device_metrics ORDER BY sensor_id")
    assert [(r["sensor_id"], r["fps"], r["recording"]) for r in rows] == [
        ("cam-1", 24.8, None),
        ("gw-1", None, None),
        ("nvr-1", None, True),
    ]
    many = [{"at": iso_ms(now - n * 1000), "cpuPct": n % 100} for n in range(1000)]
    assert (await ingest(client, many, as_device("radar-1")))["accepted"] == 1000


@pytest.mark.parametrize(
    "samples",
    [
        [{"at": "2023-11-14T22:00:00Z"}] * 1000,
        [{"at": "2023-11-14T22:00:00"}],
        [{"at": "2023-11-14T22:00:00Z", "cpuPct": 101}],
        [{"at": "2023-11-14T22:00:00Z", "cpuPct": "high"}],
        [{"at": "2023-11-14T22:00:00Z", "temperatureC": 1e300}],
        [{"at": "2023-11-14T22:00:00Z", "deviceId": "dev-cam-2"}],  # another gateway's camera
        [{"at": "2023-11-14T22:00:00Z", "deviceId": "'; DELETE FROM device_metrics; --"}],
        [{"at": "2020-01-01T00:00:00Z"}],
        [{"at": "2030-01-01T00:00:00Z"}],
        [{"at": "2023-11-14T22:00:00Z", "sneaky": 1}],
        [{"cpuPct": 1}],
    ],
)
async def test_bad_samples_store_nothing(
    client: httpx.AsyncClient, site: Database, samples: list[Any]
) -> None:
    good = {"at": "2023-11-14T22:00:01Z", "cpuPct": 5}
    refused = await error(client, "metrics.ingest", {"samples": [good, *samples]}, headers=GW1)
    assert refused["code"] == -32602, refused
    assert await site.fetchval("SELECT COUNT(*) FROM device_metrics") == 0


async def test_roles(client: httpx.AsyncClient, site: Database) -> None:
    sample = {"samples": [{"at": "2023-11-14T22:00:00Z", "cpuPct": 5}]}
    assert (await error(client, "metrics.ingest", sample))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "metrics.ingest", sample, headers=VIEWER))["data"]["code"] == "FORBIDDEN"
    assert (await error(client, "metrics.ingest", {"samples": []}, headers=GW1))["code"] == -32602
    params = {"sensorId": "gw-1", "from": "2023-11-14T00:00:00Z", "to": "2023-11-15T00:00:00Z"}
    assert (await error(client, "metrics.getSeries", params))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "metrics.getSeries", params, headers=GW1))["data"]["code"] == "FORBIDDEN"
    missing = await error(client, "metrics.getSeries", {**params, "sensorId": "nope"}, headers=VIEWER)
    assert missing["data"]["code"] == "NOT_FOUND"
    backwards = await error(client, "metrics.getSeries", {**params, "to": params["from"]}, headers=VIEWER)
    assert backwards["code"] == -32602
    too_many = await error(
        client,
        "metrics.getSeries",
        {**params, "from": "1990-01-01T00:00:00Z", "groupBy": "hour"},
        headers=VIEWER,
    )
    assert too_many["code"] == -32602


async def test_hourly_buckets_across_spring_forward(
    client: httpx.AsyncClient, site: Database, clock: ManualClock
) -> None:
    await berlin(client)
    day_start, day_end = ms(2024, 3, 30, 23), ms(2024, 3, 31, 22)  # the local day: 23 hours
    clock.advance((day_end - clock.now_ms()) / 1000 + 60)
    # A sample every 30 minutes; cpuPct is the UTC hour, so each bucket's avg is known.
    samples = [
        {"at": iso_ms(at), "cpuPct": datetime.fromtimestamp(at / 1000, UTC).hour, "recording": n % 2 == 0}
        for n, at in enumerate(range(day_start, day_end, HOUR // 2))
    ]
    await ingest(client, samples)
    answer = await series(client, "gw-1", day_start, day_end, "hour")
    buckets = answer["buckets"]
    assert answer["timezone"] == "Europe/Berlin" and len(buckets) == 23
    assert [b["label"] for b in buckets[:4]] == [
        "2024-03-31T00:00+01:00",
        "2024-03-31T01:00+01:00",
        "2024-03-31T03:00+02:00",
        "2024-03-31T04:00+02:00",
    ]
    assert all(b["samples"] == 2 for b in buckets)
    assert buckets[2]["cpuPct"] == {"avg": 1.0, "min": 1.0, "max": 1.0}  # 03:00 CEST is 01:00 UTC
    assert buckets[0]["recording"] == {"avg": 0.5, "min": 0.0, "max": 1.0}
    assert buckets[0]["fps"] is None
    daily = await series(client, "gw-1", day_start, day_end, "day")
    assert [(b["label"], b["samples"]) for b in daily["buckets"]] == [("2024-03-31", 46)]


async def test_daily_buckets_across_fall_back(
    client: httpx.AsyncClient, site: Database, clock: ManualClock
) -> None:
    await berlin(client)
    start, end = ms(2024, 10, 26, 22), ms(2024, 10, 28, 23)  # 27 Oct (25 h) and 28 Oct, local
    clock.advance((end - clock.now_ms()) / 1000 + 60)
    samples = [{"at": iso_ms(at), "cpuPct": 10} for at in range(start, end, HOUR)]
    await ingest(client, samples)
    daily = await series(client, "gw-1", start, end, "day")
    assert [(b["label"], b["samples"]) for b in daily["buckets"]] == [("2024-10-27", 25), ("2024-10-28", 24)]
    hourly = await series(client, "gw-1", start, start + 4 * HOUR, "hour")
    assert [b["label"] for b in hourly["buckets"]] == [
        "2024-10-27T00:00+02:00",
        "2024-10-27T01:00+02:00",
        "2024-10-27T02:00+02:00",
        "2024-10-27T02:00+01:00",  # the repeated hour is its own bucket
    ]


async def test_retention_deletes_old_samples_in_chunks(
    client: httpx.AsyncClient, site: Database, clock: ManualClock
) -> None:
    now = clock.now_ms()
    await ingest(client, [{"at": iso_ms(now - n * 60_000), "cpuPct": 1} for n in range(50)])
    cutoff = now - 20 * 60_000  # samples 21..49 minutes old go: 29 of them
    deleted = await delete_old_samples(site, cutoff, chunk=7)
    assert deleted == 29
    assert await site.fetchval("SELECT COUNT(*) FROM device_metrics") == 21
    assert await site.fetchval("SELECT MIN(at) FROM device_metrics") == cutoff
    assert await delete_old_samples(site, cutoff, chunk=7) == 0


async def test_the_retention_job_logs_its_work_with_its_job_id(
    app: Starlette,
    client: httpx.AsyncClient,
    site: Database,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await ingest(client, [{"at": iso_ms(clock.now_ms() - n * 60_000), "cpuPct": 1} for n in range(3)])
    clock.advance(91 * 86_400)  # every sample is now past the 90 days kept
    with caplog.at_level(logging.INFO, logger="tvms.metrics"):
        async with metrics_retention(app.state.services):  # a round at once, then hourly
            for _ in range(500):
                if any("metrics retention" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.01)
    [line] = [r for r in caplog.records if "metrics retention" in r.getMessage()]
    assert "deleted 3 samples" in line.getMessage()
    assert line.fields == {"job": "metrics.retention"}  # type: ignore[attr-defined]
