"""A realistic demo city for `tvms seed --demo`: Almaty-like locations with gateways, cameras,
NVRs, ANPR units, radars and speed detectors.

Deterministic (fixed seed, fixed ids `loc-demo-NNN` / `sensor-demo-NNNN`), so running it twice
changes nothing: rows that exist are skipped. Demo sensors get no API key; rotate one with
`sensors.rotateApiKey` to drive a sensor from a script.

The city has a past: locations and sensors exist from `HISTORY_DAYS` days before the seed (so
they cover every demo event, which spans the last 7 days), and each sensor has a status history
over that time (short outages when heartbeats stopped, maintenance windows), ending in its
current status. `reports.getSensorUptime` and the coverage of every report read real figures.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tvms.db import Database, Transaction

Progress = Callable[[int, int], None]
"""Called with (locations done, locations in total) after each location."""

DAY_MS = 86_400_000
HISTORY_DAYS = 30
HEARTBEAT_TIMEOUT_MS = 180_000

_AVENUES = [
    "Abay Ave",
    "Al-Farabi Ave",
    "Raiymbek Ave",
    "Tole Bi St",
    "Satpayev St",
    "Zhandosov St",
    "Timiryazev St",
    "Gogol St",
    "Bogenbai Batyr St",
    "Kabanbay Batyr St",
    "Ryskulov Ave",
    "Suyunbay Ave",
    "Momyshuly St",
]
_CROSSING = [
    "Dostyk Ave",
    "Nazarbayev Ave",
    "Seifullin Ave",
    "Zheltoksan St",
    "Baitursynov St",
    "Auezov St",
    "Rozybakiev St",
    "Sain St",
    "Tolebayev St",
    "Mukanov St",
    "Navoi St",
    "Pushkin St",
]
_HIGHWAYS = [
    "Kuldzhinsky Tract",
    "Kapshagay Highway",
    "Almaty-Bishkek Highway A2",
    "Eastern Bypass",
    "Talgar Highway",
    "Northern Bypass",
]
_CHECKPOINTS = [
    "North entry",
    "East entry",
    "Airport road",
    "Bishkek road",
    "Kapshagay road",
    "Talgar road",
    "Medeu road",
    "Kaskelen road",
]
_PARKING = [
    "Green Bazaar parking",
    "Mega Center parking",
    "Railway Station 2 parking",
    "Dostyk Plaza parking",
]
_ZONES = ["Old Square school zone", "Medeu low-speed zone", "Arbat pedestrian zone"]
# (type, how many of each sensor type); the first EDGE_CONTROLLER is the gateway for cameras/NVRs.
_LAYOUT: dict[str, list[tuple[str, int]]] = {
    "INTERSECTION": [("EDGE_CONTROLLER", 1), ("NVR", 1), ("CAMERA", 4), ("ANPR", 1), ("RADAR", 1)],
    "HIGHWAY": [
        ("EDGE_CONTROLLER", 1),
        ("NVR", 1),
        ("CAMERA", 2),
        ("SPEED_DETECTOR", 2),
        ("RADAR", 2),
        ("ANPR", 2),
    ],
    "CHECKPOINT": [("EDGE_CONTROLLER", 1), ("NVR", 1), ("CAMERA", 4), ("ANPR", 4)],
    "PARKING": [("EDGE_CONTROLLER", 1), ("NVR", 1), ("CAMERA", 6), ("ANPR", 2)],
    "ZONE": [("EDGE_CONTROLLER", 1), ("NVR", 1), ("CAMERA", 6), ("SPEED_DETECTOR", 2), ("ANPR", 2)],
}
_CODES = {
    "EDGE_CONTROLLER": "GW",
    "NVR": "NVR",
    "CAMERA": "CAM",
    "ANPR": "ANPR",
    "RADAR": "RAD",
    "SPEED_DETECTOR": "SPD",
}


@dataclass(frozen=True)
class DemoCity:
    locations_created: int
    sensors_created: int
    locations_total: int
    sensors_total: int


def _places(rng: random.Random) -> list[dict[str, Any]]:
    places: list[dict[str, Any]] = []

    def add(name: str, address: str, kind: str, lat: float, lon: float) -> None:
        places.append(
            {
                "id": f"loc-demo-{len(places) + 1:03d}",
                "name": name,
                "address": address,
                "type": kind,
                "latitude": round(lat, 6),
                "longitude": round(lon, 6),
            }
        )

    for index in range(25):
        avenue, street = _AVENUES[index % len(_AVENUES)], _CROSSING[(index * 5) % len(_CROSSING)]
        add(
            f"{avenue} / {street}",
            f"{avenue} & {street}, Almaty",
            "INTERSECTION",
            43.21 + rng.random() * 0.06,
            76.86 + rng.random() * 0.1,
        )
    for index in range(10):
        road = _HIGHWAYS[index % len(_HIGHWAYS)]
        km = 3 + index * 4
        add(
            f"{road} km {km}",
            f"{road}, km {km}",
            "HIGHWAY",
            43.15 + rng.random() * 0.25,
            76.7 + rng.random() * 0.5,
        )
    for name in _CHECKPOINTS:
        add(
            f"Checkpoint: {name}",
            f"{name}, Almaty city limits",
            "CHECKPOINT",
            43.15 + rng.random() * 0.25,
            76.7 + rng.random() * 0.5,
        )
    for name in _PARKING:
        add(name, f"{name}, Almaty", "PARKING", 43.22 + rng.random() * 0.04, 76.88 + rng.random() * 0.08)
    for name in _ZONES:
        add(name, f"{name}, Almaty", "ZONE", 43.2 + rng.random() * 0.06, 76.9 + rng.random() * 0.1)
    return places


def _status(rng: random.Random) -> str:
    roll = rng.random()
    return (
        "ONLINE" if roll < 0.86 else "OFFLINE" if roll < 0.94 else "MAINTENANCE" if roll < 0.98 else "ERROR"
    )


def status_history(sensor_id: str, status: str, since: int, now_ms: int) -> list[tuple[int, str, str]]:
    """(at, to_status, reason) from `since` to `now_ms`: ONLINE when installed, a few outages and
    maintenance windows, and finally `status` (the sensor's current one). Deterministic per id."""
    rng = random.Random(f"{sensor_id}/history")  # its own stream: the city's draws stay the same
    changes = [(since, "ONLINE", "installed")]
    cursor = since + rng.randrange(DAY_MS, 4 * DAY_MS)
    final_from = now_ms - rng.randrange(DAY_MS // 4, 3 * DAY_MS)  # when a non-ONLINE status began
    while cursor < final_from - DAY_MS:
        if rng.random() < 0.8:
            down, reason, back = "OFFLINE", "heartbeat timeout", "heartbeat resumed"
            length = rng.randrange(10 * 60_000, 6 * 3_600_000)
        else:
            down, reason, back = "MAINTENANCE", "scheduled maintenance", "maintenance finished"
            length = rng.randrange(3_600_000, 4 * 3_600_000)
        changes += [(cursor, down, reason), (cursor + length, "ONLINE", back)]
        cursor += length + rng.randrange(2 * DAY_MS, 9 * DAY_MS)
    if status != "ONLINE":
        reason = {"OFFLINE": "heartbeat timeout", "MAINTENANCE": "scheduled maintenance"}.get(status, "fault")
        changes.append((final_from, status, reason))
    return changes


async def _seed_location(
    tx: Transaction,
    rng: random.Random,
    place: dict[str, Any],
    first_number: int,
    now_ms: int,
    existing_sensors: set[str],
    create_location: bool,
) -> tuple[int, int]:
    """Insert one location and its sensors (those not there yet); returns (sensors made, next number)."""
    if create_location:
        await tx.execute(
            "INSERT INTO locations (id, name, address, type, latitude, longitude, status, description, "
            "created_at, updated_at) VALUES (:id, :name, :address, :type, :latitude, :longitude, 'ACTIVE', "
            "'Demo data', :since, :now)",
            {**place, "since": now_ms - HISTORY_DAYS * DAY_MS, "now": now_ms},
        )
    number = first_number
    made = 0
    gateway: str | None = None
    for sensor_type, count in _LAYOUT[place["type"]]:
        for _ in range(count):
            sensor_id = f"sensor-demo-{number:04d}"
            status = _status(rng)
            heard = None if status == "OFFLINE" else now_ms - rng.randrange(0, 60_000)
            since = now_ms - HISTORY_DAYS * DAY_MS
            history = status_history(sensor_id, status, since, now_ms)
            if heard is None:  # went silent: its last heartbeat came one timeout before it was marked
                heard = history[-1][0] - HEARTBEAT_TIMEOUT_MS
            lat = place["latitude"] + rng.uniform(-0.0008, 0.0008)
            lon = place["longitude"] + rng.uniform(-0.0008, 0.0008)
            parent = gateway if sensor_type in ("CAMERA", "NVR") else None
            if sensor_type == "EDGE_CONTROLLER" and gateway is None:
                gateway = sensor_id
            number += 1
            if sensor_id in existing_sensors:
                continue
            await tx.execute(
                "INSERT INTO sensors (id, name, device_id, type, status, ip_address, latitude, longitude, "
                "address, location_id, parent_sensor_id, firmware_version, last_heartbeat_at, "
                "heartbeat_timeout_s, created_at, updated_at) "
                "VALUES (:id, :name, :device_id, :type, :status, :ip, :lat, :lon, :address, :location_id, "
                ":parent, :firmware, :heard, :timeout, :since, :now)",
                {
                    "id": sensor_id,
                    "name": f"{place['name']} {_CODES[sensor_type]} {number - first_number}",
                    "device_id": f"ALA-{_CODES[sensor_type]}-{number - 1:04d}",
                    "type": sensor_type,
                    "status": status,
                    "ip": f"10.{20 + number // 250}.{number % 250}.{10 + rng.randrange(200)}",
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "address": place["address"],
                    "location_id": place["id"],
                    "parent": parent,
                    "firmware": rng.choice(["2.4.1", "2.4.3", "2.5.0", "3.0.2"]),
                    "heard": heard,
                    "timeout": HEARTBEAT_TIMEOUT_MS // 1000,
                    "since": since,
                    "now": now_ms,
                },
            )
            await tx.executemany(
                "INSERT INTO sensor_status_changes (id, sensor_id, from_status, to_status, at, reason) "
                "VALUES (:id, :sensor_id, :from_status, :to_status, :at, :reason)",
                [
                    {
                        "id": f"{sensor_id}-{index:03d}",
                        "sensor_id": sensor_id,
                        "from_status": history[index - 1][1] if index else None,
                        "to_status": to_status,
                        "at": at,
                        "reason": reason,
                    }
                    for index, (at, to_status, reason) in enumerate(history)
                ],
            )
            made += 1
    return made, number


async def seed_demo_city(db: Database, now_ms: int, progress: Progress | None = None) -> DemoCity:
    """Create the demo city; what already exists (by id) is left as it is. Safe to run twice."""
    rng = random.Random(20241115)  # fixed: the same city every time
    places = _places(rng)
    existing_locations = {
        row["id"] for row in await db.fetch("SELECT id FROM locations WHERE id LIKE 'loc-demo-%'")
    }
    existing_sensors = {
        row["id"] for row in await db.fetch("SELECT id FROM sensors WHERE id LIKE 'sensor-demo-%'")
    }
    made_locations = made_sensors = 0
    number = 1
    for done, place in enumerate(places, start=1):
        # One transaction per location: an interrupted run leaves whole locations, and the next
        # run completes the rest.
        async with db.transaction() as tx:
            create = place["id"] not in existing_locations
            made, number = await _seed_location(tx, rng, place, number, now_ms, existing_sensors, create)
        made_locations += int(create)
        made_sensors += made
        if progress is not None:
            progress(done, len(places))
    return DemoCity(made_locations, made_sensors, len(places), number - 1)
