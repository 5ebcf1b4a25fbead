"""tvms.seeding.demo_city: a plausible city, every sensor type, gateways with children, idempotent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import result
from tvms.seeding.demo_city import seed_demo_city


async def test_demo_city_is_realistic_and_safe_to_run_twice(client: httpx.AsyncClient, app: Any) -> None:
    db = app.state.services.db
    ticks: list[tuple[int, int]] = []
    first = await seed_demo_city(db, 1_700_000_000_000, lambda done, total: ticks.append((done, total)))
    assert 45 <= first.locations_created <= 55 and 450 <= first.sensors_created <= 550
    assert ticks[-1] == (first.locations_total, first.locations_total) and len(ticks) == first.locations_total
    again = await seed_demo_city(db, 1_700_000_000_000)
    assert (again.locations_created, again.sensors_created) == (0, 0)
    assert again.sensors_total == first.sensors_total
    stats = await result(client, "sensors.getStats")
    assert stats["total"] == first.sensors_created
    assert all(count > 0 for count in stats["byType"].values())
    gateways = await result(client, "sensors.getAll", {"type": "EDGE_CONTROLLER", "take": 1})
    detail = await result(client, "sensors.getById", {"id": gateways["sensors"][0]["id"]})
    assert {child["type"] for child in detail["children"]} == {"CAMERA", "NVR"}
    places = await result(client, "locations.getAll", {"take": 100})
    assert places["total"] == first.locations_total and all(p["sensorCount"] > 0 for p in places["locations"])
    await db.execute("DELETE FROM sensors WHERE id = 'sensor-demo-0007'")  # a half-seeded city is completed
    fixed = await seed_demo_city(db, 1_700_000_000_000)
    assert (fixed.locations_created, fixed.sensors_created) == (0, 1)
