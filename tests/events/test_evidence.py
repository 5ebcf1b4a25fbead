"""Evidence: signed PUT → completeEvidenceUpload verifies size and SHA-256 → VERIFIED or QUARANTINED."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.events.factories import T0, event
from tests.events.test_ingest import ingest
from tests.support import as_device, as_role, call, error, result
from tvms.db import Database

IMAGE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


async def new_event(client: httpx.AsyncClient, type: str = "RED_LIGHT", device: str = "sensor-1") -> str:
    body = await ingest(client, [event(1, type=type, at=T0)], device=device)
    event_id: str = body["receipts"][0]["id"]
    return event_id


def announce(
    event_id: str, data: bytes = IMAGE, kind: str = "OVERVIEW_IMAGE", **extra: Any
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "kind": kind,
        "contentType": "image/jpeg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }


async def upload(
    client: httpx.AsyncClient,
    event_id: str,
    sent: bytes,
    announced: bytes = IMAGE,
    device: str = "sensor-1",
    **extra: Any,
) -> dict[str, Any]:
    slot = await result(
        client,
        "events.createEvidenceUpload",
        announce(event_id, announced, **extra),
        headers=as_device(device),
    )
    response = await client.put(slot["uploadUrl"], content=sent, headers=slot["headers"])
    assert response.status_code in (200, 400, 413), response.text
    answer: dict[str, Any] = await result(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": slot["key"]},
        headers=as_device(device),
    )
    return answer


async def test_verified_evidence_is_served(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    item = await upload(client, event_id, IMAGE)
    assert item["state"] == "VERIFIED"
    assert item["key"] == f"violations/{event_id}/image.jpg"
    assert item["downloadUrl"] is None  # devices get no URL back; readers do
    detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("VIEWER"))
    [evidence] = detail["evidence"]
    assert (evidence["kind"], evidence["state"], evidence["size"]) == (
        "OVERVIEW_IMAGE",
        "VERIFIED",
        len(IMAGE),
    )
    assert evidence["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    downloaded = await client.get(evidence["downloadUrl"])
    assert downloaded.status_code == 200 and downloaded.content == IMAGE
    # completing again is harmless and answers the same
    again = await result(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": item["key"]},
        headers=as_device("sensor-1"),
    )
    assert again["state"] == "VERIFIED"


async def test_mismatch_is_quarantined_and_never_served(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    tampered = bytes([IMAGE[0] ^ 1]) + IMAGE[1:]  # same size, other content
    item = await upload(client, event_id, tampered)
    assert item["state"] == "QUARANTINED"
    detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("ADMIN"))
    assert detail["evidence"][0]["state"] == "QUARANTINED"
    assert detail["evidence"][0]["downloadUrl"] is None
    operator = await error(
        client, "storage.getDownloadUrl", {"key": item["key"]}, headers=as_role("OPERATOR")
    )
    assert operator["data"]["code"] == "FORBIDDEN"
    admin = await result(client, "storage.getDownloadUrl", {"key": item["key"]}, headers=as_role("ADMIN"))
    assert (await client.get(admin["url"])).content == tampered  # kept for inspection
    conflict = await call(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    assert conflict["error"]["data"]["code"] == "CONFLICT"


async def test_complete_before_upload(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    slot = await result(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    early = await error(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": slot["key"]},
        headers=as_device("sensor-1"),
    )
    assert early["data"]["code"] == "PRECONDITION_FAILED"
    wrong_key = await error(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": "x/y.jpg"},
        headers=as_device("sensor-1"),
    )
    assert wrong_key["data"]["code"] == "NOT_FOUND"
    # asking again while pending gives a new URL for the same key
    again = await result(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    assert again["key"] == slot["key"] and again["evidenceId"] == slot["evidenceId"]


async def test_layout_for_observations(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client, type="ANPR_READ")
    item = await upload(client, event_id, IMAGE, kind="PLATE_CROP")
    assert item["key"] == f"events/2023/11/{event_id}-plate.jpg"
    assert item["state"] == "VERIFIED"


async def test_only_the_producing_device(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client, device="sensor-1")
    other = await error(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-2")
    )
    assert other["data"]["code"] == "NOT_FOUND"
    user = await error(client, "events.createEvidenceUpload", announce(event_id), headers=as_role("ADMIN"))
    assert user["data"]["code"] == "FORBIDDEN"
    child_event = (await ingest(client, [event(9, deviceId="dev-cam-1")], device="gw-1"))["receipts"][0]["id"]
    assert (await upload(client, child_event, IMAGE, device="gw-1"))["state"] == "VERIFIED"


async def test_bad_announcements(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    device = as_device("sensor-1")
    for params in (
        announce(event_id, contentType="text/html"),
        announce(event_id, kind="METADATA_JSON"),  # JSON kind with an image type
        announce(event_id, kind="SOUND"),
        {**announce(event_id), "size": 0},
        {**announce(event_id), "size": 100 * 1024 * 1024 + 1},
        {**announce(event_id), "sha256": "abc"},
        {**announce(event_id), "sha256": "'; DROP TABLE evidence; --"},
        {**announce(event_id), "extra": 1},
    ):
        assert (await call(client, "events.createEvidenceUpload", params, headers=device))["error"][
            "code"
        ] == -32602
    assert await sensors.fetchval("SELECT COUNT(*) FROM evidence") == 0


async def test_upload_url_refuses_more_bytes(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    slot = await result(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    response = await client.put(slot["uploadUrl"], content=IMAGE + b"more", headers=slot["headers"])
    assert response.status_code in (400, 413)
    early = await error(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": slot["key"]},
        headers=as_device("sensor-1"),
    )
    assert early["data"]["code"] == "PRECONDITION_FAILED"


async def test_uploads_can_be_disabled(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    await sensors.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ('features.evidenceUpload', 'false', 0)"
    )
    refused = await error(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    assert refused["data"]["code"] == "PRECONDITION_FAILED"
