"""OpenRPC example pairings of `locations.*`, on the demo city of `tvms seed --demo`.

The replay (tests/clients/test_openrpc.py, `tvms conformance`) runs them against demo data
(fixed ids `loc-demo-NNN`). Each mutation touches a location no read example shows.
"""

from __future__ import annotations

from tvms.rpc.router import Example

GET_ALL = [
    Example(
        "the first two highways by name",
        params={"take": 2, "type": "HIGHWAY", "sortBy": "name", "sortOrder": "asc"},
        result={
            "locations": [
                {
                    "id": "loc-demo-028",
                    "name": "Almaty-Bishkek Highway A2 km 11",
                    "address": "Almaty-Bishkek Highway A2, km 11",
                    "type": "HIGHWAY",
                    "latitude": 43.292872,
                    "longitude": 77.027296,
                    "status": "ACTIVE",
                    "description": "Demo data",
                    "sensorCount": 10,
                    "createdAt": "2024-10-16T12:00:00.000Z",
                    "updatedAt": "2024-11-15T12:00:00.000Z",
                },
                {
                    "id": "loc-demo-034",
                    "name": "Almaty-Bishkek Highway A2 km 35",
                    "address": "Almaty-Bishkek Highway A2, km 35",
                    "type": "HIGHWAY",
                    "latitude": 43.299275,
                    "longitude": 76.920094,
                    "status": "ACTIVE",
                    "description": "Demo data",
                    "sensorCount": 10,
                    "createdAt": "2024-10-16T12:00:00.000Z",
                    "updatedAt": "2024-11-15T12:00:00.000Z",
                },
            ],
            "total": 10,
            "pageCount": 5,
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

GET_BY_ID = [
    Example(
        "an intersection and its sensors",
        params={"id": "loc-demo-003"},
        result={
            "id": "loc-demo-003",
            "name": "Raiymbek Ave / Navoi St",
            "address": "Raiymbek Ave & Navoi St, Almaty",
            "type": "INTERSECTION",
            "latitude": 43.210894,
            "longitude": 76.939035,
            "status": "ACTIVE",
            "description": "Demo data",
            "createdAt": "2024-10-16T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
            "sensors": [
                {
                    "id": "sensor-demo-0023",
                    "name": "Raiymbek Ave / Navoi St ANPR 7",
                    "deviceId": "ALA-ANPR-0023",
                    "type": "ANPR",
                    "status": "OFFLINE",
                },
                {
                    "id": "sensor-demo-0019",
                    "name": "Raiymbek Ave / Navoi St CAM 3",
                    "deviceId": "ALA-CAM-0019",
                    "type": "CAMERA",
                    "status": "ONLINE",
                },
                {
                    "id": "sensor-demo-0020",
                    "name": "Raiymbek Ave / Navoi St CAM 4",
                    "deviceId": "ALA-CAM-0020",
                    "type": "CAMERA",
                    "status": "MAINTENANCE",
                },
                {
                    "id": "sensor-demo-0021",
                    "name": "Raiymbek Ave / Navoi St CAM 5",
                    "deviceId": "ALA-CAM-0021",
                    "type": "CAMERA",
                    "status": "OFFLINE",
                },
                {
                    "id": "sensor-demo-0022",
                    "name": "Raiymbek Ave / Navoi St CAM 6",
                    "deviceId": "ALA-CAM-0022",
                    "type": "CAMERA",
                    "status": "ERROR",
                },
                {
                    "id": "sensor-demo-0017",
                    "name": "Raiymbek Ave / Navoi St GW 1",
                    "deviceId": "ALA-GW-0017",
                    "type": "EDGE_CONTROLLER",
                    "status": "ONLINE",
                },
                {
                    "id": "sensor-demo-0018",
                    "name": "Raiymbek Ave / Navoi St NVR 2",
                    "deviceId": "ALA-NVR-0018",
                    "type": "NVR",
                    "status": "ONLINE",
                },
                {
                    "id": "sensor-demo-0024",
                    "name": "Raiymbek Ave / Navoi St RAD 8",
                    "deviceId": "ALA-RAD-0024",
                    "type": "RADAR",
                    "status": "ERROR",
                },
            ],
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

GET_TYPES = [
    Example(
        "every type",
        result=["INTERSECTION", "HIGHWAY", "CHECKPOINT", "PARKING", "ZONE", "CUSTOM"],
    )
]

CREATE = [
    Example(
        "a new intersection",
        params={
            "name": "Abay Ave / Baitursynov St",
            "address": "Abay Ave & Baitursynov St, Almaty",
            "type": "INTERSECTION",
            "latitude": 43.2389,
            "longitude": 76.9286,
            "description": "Opened in November 2024",
        },
        result={
            "id": "01932fb1-c600-7d52-8a9b-3c4d5e6f7a80",
            "name": "Abay Ave / Baitursynov St",
            "address": "Abay Ave & Baitursynov St, Almaty",
            "type": "INTERSECTION",
            "latitude": 43.2389,
            "longitude": 76.9286,
            "status": "ACTIVE",
            "description": "Opened in November 2024",
            "sensorCount": 0,
            "createdAt": "2024-11-15T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
        },
        summary="The id differs on every call.",
    )
]

UPDATE = [
    Example(
        "into maintenance",
        params={"id": "loc-demo-002", "status": "MAINTENANCE", "description": "Resurfacing until December"},
        result={
            "id": "loc-demo-002",
            "name": "Al-Farabi Ave / Auezov St",
            "address": "Al-Farabi Ave & Auezov St, Almaty",
            "type": "INTERSECTION",
            "latitude": 43.247862,
            "longitude": 76.959508,
            "status": "MAINTENANCE",
            "description": "Resurfacing until December",
            "sensorCount": 8,
            "createdAt": "2024-10-16T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

UPDATE_SENSORS = [
    Example(
        "keep the gateway, the NVR and one camera",
        params={
            "id": "loc-demo-003",
            "sensorIds": ["sensor-demo-0017", "sensor-demo-0018", "sensor-demo-0019"],
        },
        result={
            "id": "loc-demo-003",
            "name": "Raiymbek Ave / Navoi St",
            "address": "Raiymbek Ave & Navoi St, Almaty",
            "type": "INTERSECTION",
            "latitude": 43.210894,
            "longitude": 76.939035,
            "status": "ACTIVE",
            "description": "Demo data",
            "createdAt": "2024-10-16T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
            "sensors": [
                {
                    "id": "sensor-demo-0019",
                    "name": "Raiymbek Ave / Navoi St CAM 3",
                    "deviceId": "ALA-CAM-0019",
                    "type": "CAMERA",
                    "status": "ONLINE",
                },
                {
                    "id": "sensor-demo-0017",
                    "name": "Raiymbek Ave / Navoi St GW 1",
                    "deviceId": "ALA-GW-0017",
                    "type": "EDGE_CONTROLLER",
                    "status": "ONLINE",
                },
                {
                    "id": "sensor-demo-0018",
                    "name": "Raiymbek Ave / Navoi St NVR 2",
                    "deviceId": "ALA-NVR-0018",
                    "type": "NVR",
                    "status": "ONLINE",
                },
            ],
        },
        summary="On a server seeded with `tvms seed --demo`. The other sensors there are detached.",
    )
]

DELETE = [
    Example(
        "a demo intersection",
        params={"id": "loc-demo-004"},
        result={"success": True, "id": "loc-demo-004"},
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

BULK_DELETE = [
    Example(
        "two demo locations and an unknown id",
        params={"ids": ["loc-demo-005", "loc-demo-006", "loc-unknown"]},
        result={"deleted": 2},
        summary="On a server seeded with `tvms seed --demo`. Unknown ids are skipped.",
    )
]
