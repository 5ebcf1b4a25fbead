"""Evidence: signed PUT → completeEvidenceUpload verifies size and SHA-256 → VERIFIED or QUARANTINED."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from starlette.applications import Starlette

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
    assert response.status_code in (200, 400, 409, 413), response.text
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


async def test_other_bytes_are_refused_at_upload(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await new_event(client)
    slot = await result(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    assert "sha256=" + hashlib.sha256(IMAGE).hexdigest() in slot["uploadUrl"]
    tampered = bytes([IMAGE[0] ^ 1]) + IMAGE[1:]  # same size, other content
    refused = await client.put(slot["uploadUrl"], content=tampered, headers=slot["headers"])
    assert refused.status_code == 400
    early = await error(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": slot["key"]},
        headers=as_device("sensor-1"),
    )
    assert early["data"]["code"] == "PRECONDITION_FAILED"  # nothing was kept
    assert (await client.put(slot["uploadUrl"], content=IMAGE, headers=slot["headers"])).status_code == 200


async def test_verified_evidence_cannot_be_replaced(client: httpx.AsyncClient, sensors: Database) -> None:
    """Attack: after VERIFIED, PUT other bytes of the same size to the still-valid upload URL."""
    event_id = await new_event(client)
    device = as_device("sensor-1")
    slot = await result(client, "events.createEvidenceUpload", announce(event_id), headers=device)
    assert (await client.put(slot["uploadUrl"], content=IMAGE, headers=slot["headers"])).status_code == 200
    done = await result(
        client, "events.completeEvidenceUpload", {"eventId": event_id, "key": slot["key"]}, headers=device
    )
    assert done["state"] == "VERIFIED"
    tampered = bytes([IMAGE[0] ^ 1]) + IMAGE[1:]
    for body in (tampered, IMAGE):
        replaced = await client.put(slot["uploadUrl"], content=body, headers=slot["headers"])
        assert replaced.status_code == 409, replaced.text
    # a fresh URL is not to be had either: the kind is decided
    again = await error(client, "events.createEvidenceUpload", announce(event_id, tampered), headers=device)
    assert again["data"]["code"] == "CONFLICT"
    detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("VIEWER"))
    [evidence] = detail["evidence"]
    assert evidence["state"] == "VERIFIED"
    assert (await client.get(evidence["downloadUrl"])).content == IMAGE


async def test_a_fresh_url_does_not_replace_a_pending_upload(
    client: httpx.AsyncClient, sensors: Database
) -> None:
    """Re-announcing other bytes while pending gives a URL that cannot replace what is there; the
    completion then compares the stored bytes with the new announcement (QUARANTINED)."""
    event_id = await new_event(client)
    device = as_device("sensor-1")
    first = await result(client, "events.createEvidenceUpload", announce(event_id), headers=device)
    assert (await client.put(first["uploadUrl"], content=IMAGE, headers=first["headers"])).status_code == 200
    other = IMAGE[:-1] + b"\x00"
    second = await result(client, "events.createEvidenceUpload", announce(event_id, other), headers=device)
    assert (
        await client.put(second["uploadUrl"], content=other, headers=second["headers"])
    ).status_code == 409
    done = await result(
        client, "events.completeEvidenceUpload", {"eventId": event_id, "key": second["key"]}, headers=device
    )
    assert done["state"] == "QUARANTINED"


async def test_sha256_with_a_trailing_newline_is_refused(
    client: httpx.AsyncClient, sensors: Database
) -> None:
    event_id = await new_event(client)
    params = {**announce(event_id), "sha256": hashlib.sha256(IMAGE).hexdigest() + "\n"}
    refused = await call(client, "events.createEvidenceUpload", params, headers=as_device("sensor-1"))
    assert refused["error"]["code"] == -32602
    assert await sensors.fetchval("SELECT COUNT(*) FROM evidence") == 0


async def test_mismatch_is_quarantined_and_never_served(
    client: httpx.AsyncClient, sensors: Database, app: Starlette
) -> None:
    event_id = await new_event(client)
    tampered = bytes([IMAGE[0] ^ 1]) + IMAGE[1:]  # same size, other content
    slot = await result(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    # a store that does not check the signed digest: the bytes arrive anyway
    await app.state.services.storage.put(slot["key"], tampered, "image/jpeg")
    item = await result(
        client,
        "events.completeEvidenceUpload",
        {"eventId": event_id, "key": slot["key"]},
        headers=as_device("sensor-1"),
    )
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


async def test_a_re_announced_type_leaves_no_downloadable_orphan(
    client: httpx.AsyncClient, sensors: Database, app: Starlette
) -> None:
    """The review's path: announce JPEG, upload it, re-announce as PNG, then download the .jpg."""
    from tvms.storage import ObjectNotFound

    event_id = await new_event(client)
    device = as_device("sensor-1")
    storage = app.state.services.storage
    first = await result(client, "events.createEvidenceUpload", announce(event_id), headers=device)
    assert (await client.put(first["uploadUrl"], content=IMAGE, headers=first["headers"])).status_code == 200
    second = await result(
        client, "events.createEvidenceUpload", announce(event_id, contentType="image/png"), headers=device
    )
    assert second["key"] != first["key"] and second["key"].endswith(".png")
    try:
        await storage.stat(first["key"])
        raise AssertionError("the orphaned .jpg is still stored")
    except ObjectNotFound:
        pass
    # the old URL is still signed: what it uploads now is no item's file and is never served
    assert (await client.put(first["uploadUrl"], content=IMAGE, headers=first["headers"])).status_code == 200
    for role in ("VIEWER", "OPERATOR"):
        refused = await error(client, "storage.getDownloadUrl", {"key": first["key"]}, headers=as_role(role))
        assert refused["data"]["code"] == "FORBIDDEN"
    detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("VIEWER"))
    assert [(e["key"], e["downloadUrl"]) for e in detail["evidence"]] == [(second["key"], None)]


async def test_a_file_in_an_evidence_folder_without_an_item_is_not_served(
    client: httpx.AsyncClient, sensors: Database, app: Starlette
) -> None:
    await app.state.services.storage.put("events/2024/11/stray.jpg", IMAGE, "image/jpeg")
    refused = await error(
        client, "storage.getDownloadUrl", {"key": "events/2024/11/stray.jpg"}, headers=as_role("VIEWER")
    )
    assert refused["data"]["code"] == "FORBIDDEN"
    admin = await result(
        client, "storage.getDownloadUrl", {"key": "events/2024/11/stray.jpg"}, headers=as_role("ADMIN")
    )
    assert (await client.get(admin["url"])).content == IMAGE
