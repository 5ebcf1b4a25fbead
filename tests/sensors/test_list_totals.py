"""`sensors.getAll` totals after the one-statement rewrite: soft-deleted sensors never count,
whichever way the total is computed (page row, OFFSET guard, separate count past the end), and the
fast timestamp formatting equals `iso_ms`."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from procedures.sensors.rows import fast_iso
from tests.sensors.helpers import OPERATOR, make_sensor
from tests.support import result
from tvms.clock import ManualClock, iso_ms


async def _page(client: httpx.AsyncClient, **params: Any) -> tuple[list[str], int, int]:
    page = await result(client, "sensors.getAll", params)
    return [s["id"] for s in page["sensors"]], page["total"], page["pageCount"]


async def test_deleted_sensors_never_count(client: httpx.AsyncClient, clock: ManualClock) -> None:
    made = []
    for kind in ("CAMERA", "CAMERA", "RADAR", "CAMERA"):
        clock.advance(1)
        made.append((await make_sensor(client, type=kind, name=f"Total {kind}"))["id"])
    await result(client, "sensors.delete", {"id": made[0]}, headers=OPERATOR)
    live = made[1:]
    assert await _page(client, sortOrder="asc") == (live, 3, 1)
    assert await _page(client, take=2, sortOrder="asc") == (live[:2], 3, 2)
    assert await _page(client, skip=2, take=2, sortOrder="asc") == (live[2:], 3, 2)
    for skip in (3, 4, 1000, 1_000_000_000):  # at and past the end: total still right
        assert await _page(client, skip=skip) == ([], 3, 1)
        assert await _page(client, skip=skip, type="CAMERA") == ([], 2, 1)
        assert await _page(client, skip=skip, search="total") == ([], 3, 1)
    assert (await _page(client, type="CAMERA"))[1:] == (2, 1)
    assert (await _page(client, search="TOTAL c"))[1:] == (2, 1)
    assert await _page(client, type="NVR") == ([], 0, 0)
    assert await _page(client, type="NVR", skip=5) == ([], 0, 0)
    for sensor_id in live:
        await result(client, "sensors.delete", {"id": sensor_id}, headers=OPERATOR)
    assert await _page(client) == ([], 0, 0)
    assert await _page(client, skip=10) == ([], 0, 0)


async def test_total_sees_the_callers_own_create_at_once(client: httpx.AsyncClient) -> None:
    for expected in range(1, 4):
        await make_sensor(client)
        assert (await _page(client))[1] == expected
        assert (await _page(client, skip=50))[1] == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_iso_equals_iso_ms(seed: int) -> None:
    rng = random.Random(seed)
    edges = [0, 1, 999, 1000, 86_399_999, 86_400_000, 1_731_672_000_000, 253_402_300_799_999]
    edges += [-1, -86_400_001, 253_402_300_800_000 - 1]
    values = edges + [rng.randrange(0, 253_402_300_800_000) for _ in range(5000)]
    values += [rng.randrange(1_600_000_000_000, 1_900_000_000_000) for _ in range(5000)]
    for ms in values:
        assert fast_iso(ms) == iso_ms(ms), ms
