"""OpenRPC example pairings of `sensors.*`, on the demo city of `tvms seed --demo`.

The replay (tests/clients/test_openrpc.py, `tvms conformance`) runs them against demo data:
the ids `sensor-demo-NNNN` and `loc-demo-NNN` are fixed there. Mutations use sensors that the
read examples do not show, so replaying every example in name order stays consistent.
"""

from __future__ import annotations

from tvms.rpc.router import Example

GET_ALL = [
    Example(
        "cameras, two to a page",
        params={"take": 2, "type": "CAMERA"},
        result={
            "sensors": [
                {
                    "id": "sensor-demo-0452",
                    "name": "Arbat pedestrian zone CAM 8",
                    "deviceId": "ALA-CAM-0452",
                    "type": "CAMERA",
                    "status": "ONLINE",
                    "ipAddress": "10.21.203.202",
                    "coordinates": {
                        "latitude": 43.235616,
                        "longitude": 76.906544,
                        "address": "Arbat pedestrian zone, Almaty",
                    },
                    "locationId": "loc-demo-050",
                    "parentSensorId": "sensor-demo-0445",
                    "firmwareVersion": "2.4.1",
                    "apiKeyPrefix": None,
                    "heartbeatTimeoutS": 180,
                    "lastHeartbeat": "2024-11-15T11:59:33.391Z",
                    "lastEventAt": None,
                    "createdAt": "2024-10-16T12:00:00.000Z",
                    "updatedAt": "2024-11-15T12:00:00.000Z",
                },
                {
                    "id": "sensor-demo-0451",
                    "name": "Arbat pedestrian zone CAM 7",
                    "deviceId": "ALA-CAM-0451",
                    "type": "CAMERA",
                    "status": "ONLINE",
                    "ipAddress": "10.21.202.204",
                    "coordinates": {
                        "latitude": 43.236985,
                        "longitude": 76.90673,
                        "address": "Arbat pedestrian zone, Almaty",
                    },
                    "locationId": "loc-demo-050",
                    "parentSensorId": "sensor-demo-0445",
                    "firmwareVersion": "3.0.2",
                    "apiKeyPrefix": None,
                    "heartbeatTimeoutS": 180,
                    "lastHeartbeat": "2024-11-15T11:59:08.871Z",
                    "lastEventAt": None,
                    "createdAt": "2024-10-16T12:00:00.000Z",
                    "updatedAt": "2024-11-15T12:00:00.000Z",
                },
            ],
            "total": 194,
            "pageCount": 97,
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

GET_ALL_SENSORS = [
    Example(
        "the map list (its first two of many)",
        result=[
            {
                "id": "sensor-demo-0111",
                "name": "Abay Ave / Auezov St ANPR 7",
                "deviceId": "ALA-ANPR-0111",
                "type": "ANPR",
                "status": "ONLINE",
                "ipAddress": "10.20.112.168",
                "coordinates": {
                    "latitude": 43.268264,
                    "longitude": 76.942907,
                    "address": "Abay Ave & Auezov St, Almaty",
                },
                "locationId": "loc-demo-014",
                "parentSensorId": None,
                "lastHeartbeat": "2024-11-15T11:59:23.029Z",
                "location": {
                    "id": "loc-demo-014",
                    "name": "Abay Ave / Auezov St",
                    "address": "Abay Ave & Auezov St, Almaty",
                    "type": "INTERSECTION",
                    "latitude": 43.268728,
                    "longitude": 76.942883,
                },
            },
            {
                "id": "sensor-demo-0107",
                "name": "Abay Ave / Auezov St CAM 3",
                "deviceId": "ALA-CAM-0107",
                "type": "CAMERA",
                "status": "ONLINE",
                "ipAddress": "10.20.108.19",
                "coordinates": {
                    "latitude": 43.269239,
                    "longitude": 76.942619,
                    "address": "Abay Ave & Auezov St, Almaty",
                },
                "locationId": "loc-demo-014",
                "parentSensorId": "sensor-demo-0105",
                "lastHeartbeat": "2024-11-15T11:59:52.693Z",
                "location": {
                    "id": "loc-demo-014",
                    "name": "Abay Ave / Auezov St",
                    "address": "Abay Ave & Auezov St, Almaty",
                    "type": "INTERSECTION",
                    "latitude": 43.268728,
                    "longitude": 76.942883,
                },
            },
        ],
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

GET_BY_ID = [
    Example(
        "a camera under its intersection's gateway",
        params={"id": "sensor-demo-0003"},
        result={
            "id": "sensor-demo-0003",
            "name": "Abay Ave / Dostyk Ave CAM 3",
            "deviceId": "ALA-CAM-0003",
            "type": "CAMERA",
            "status": "OFFLINE",
            "ipAddress": "10.20.4.46",
            "coordinates": {
                "latitude": 43.240974,
                "longitude": 76.926246,
                "address": "Abay Ave & Dostyk Ave, Almaty",
            },
            "locationId": "loc-demo-001",
            "parentSensorId": "sensor-demo-0001",
            "firmwareVersion": "2.4.3",
            "apiKeyPrefix": None,
            "heartbeatTimeoutS": 180,
            "lastHeartbeat": "2024-11-15T02:54:10.120Z",
            "lastEventAt": None,
            "createdAt": "2024-10-16T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
            "location": {
                "id": "loc-demo-001",
                "name": "Abay Ave / Dostyk Ave",
                "address": "Abay Ave & Dostyk Ave, Almaty",
                "type": "INTERSECTION",
                "latitude": 43.241749,
                "longitude": 76.926066,
            },
            "children": [],
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

CREATE = [
    Example(
        "an ANPR unit at a demo intersection",
        params={
            "name": "Abay Ave / Dostyk Ave ANPR 9",
            "deviceId": "ALA-ANPR-9001",
            "type": "ANPR",
            "ipAddress": "10.20.1.50",
            "coordinates": {
                "latitude": 43.2416,
                "longitude": 76.9262,
                "address": "Abay Ave & Dostyk Ave, Almaty",
            },
            "locationId": "loc-demo-001",
            "firmwareVersion": "3.0.2",
        },
        result={
            "id": "01932fb1-c600-7a3e-9c41-5b2d8e7f0a12",
            "name": "Abay Ave / Dostyk Ave ANPR 9",
            "deviceId": "ALA-ANPR-9001",
            "type": "ANPR",
            "status": "OFFLINE",
            "ipAddress": "10.20.1.50",
            "coordinates": {
                "latitude": 43.2416,
                "longitude": 76.9262,
                "address": "Abay Ave & Dostyk Ave, Almaty",
            },
            "locationId": "loc-demo-001",
            "parentSensorId": None,
            "firmwareVersion": "3.0.2",
            "apiKeyPrefix": "tvms_dk_5c123726",
            "heartbeatTimeoutS": 180,
            "lastHeartbeat": None,
            "lastEventAt": None,
            "createdAt": "2024-11-15T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
            "apiKey": "tvms_dk_5c123726_KexiS5b-a2-ImobXjy3_3SDj_BOq6BwUZRT-5CX3miw",
        },
        summary="The id and the API key differ on every call.",
    )
]

UPDATE = [
    Example(
        "into maintenance, with new firmware",
        params={"id": "sensor-demo-0005", "status": "MAINTENANCE", "firmwareVersion": "3.1.0"},
        result={
            "id": "sensor-demo-0005",
            "name": "Abay Ave / Dostyk Ave CAM 5",
            "deviceId": "ALA-CAM-0005",
            "type": "CAMERA",
            "status": "MAINTENANCE",
            "ipAddress": "10.20.6.124",
            "coordinates": {
                "latitude": 43.242072,
                "longitude": 76.926376,
                "address": "Abay Ave & Dostyk Ave, Almaty",
            },
            "locationId": "loc-demo-001",
            "parentSensorId": "sensor-demo-0001",
            "firmwareVersion": "3.1.0",
            "apiKeyPrefix": None,
            "heartbeatTimeoutS": 180,
            "lastHeartbeat": "2024-11-15T11:59:26.339Z",
            "lastEventAt": None,
            "createdAt": "2024-10-16T12:00:00.000Z",
            "updatedAt": "2024-11-15T12:00:00.000Z",
        },
        summary="On a server seeded with `tvms seed --demo`.",
    )
]

DELETE = [
    Example(
        "a demo camera",
        params={"id": "sensor-demo-0006"},
        result={"success": True, "id": "sensor-demo-0006"},
        summary="On a server seeded with `tvms seed --demo`.",
    )
]
