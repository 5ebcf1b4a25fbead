"""Evidence end to end with the app on S3 (a real SeaweedFS): upload, verify, download."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.events.factories import T0, event
from tests.events.test_evidence import IMAGE, announce
from tests.events.test_ingest import ingest
from tests.storage.conftest import seaweed  # noqa: F401  (session fixture: the S3 server)
from tests.storage.seaweed import SeaweedS3
from tests.support import as_device, as_role, result
from tvms.config import Config
from tvms.db import Database
from tvms.storage.s3 import S3Storage


@pytest.fixture
async def config(
    tmp_path: Path,
    database_url: str,
    seaweed: SeaweedS3,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    bucket = f"ev-{uuid.uuid4().hex[:16]}"
    maker = S3Storage(bucket, endpoint=seaweed.endpoint)
    try:
        await maker.create_bucket()
    finally:
        await maker.close()
    return Config(data_dir=tmp_path, database_url=database_url, storage_url=seaweed.storage_url(bucket))


@pytest.fixture
async def s3_app(app: Starlette, sensors: Database) -> AsyncIterator[Starlette]:
    yield app
    await app.state.services.storage.close()  # the lifespan leaves the storage client open


async def test_evidence_on_s3(client: httpx.AsyncClient, s3_app: Starlette) -> None:
    assert isinstance(s3_app.state.services.storage, S3Storage)
    event_id = (await ingest(client, [event(1, type="SPEEDING", at=T0)]))["receipts"][0]["id"]
    device = as_device("sensor-1")
    async with httpx.AsyncClient() as network:
        for kind, data in (("OVERVIEW_IMAGE", IMAGE), ("PLATE_CROP", IMAGE[:100])):
            slot = await result(
                client, "events.createEvidenceUpload", announce(event_id, data, kind=kind), headers=device
            )
            assert slot["uploadUrl"].startswith("http://127.0.0.1:")
            sent = data if kind == "OVERVIEW_IMAGE" else b"X" + data[1:]
            put = await network.put(slot["uploadUrl"], content=sent, headers=slot["headers"])
            if kind == "OVERVIEW_IMAGE":
                assert put.status_code == 200, put.text
            else:  # the signed x-amz-checksum-sha256 makes S3 refuse other bytes (BadDigest)
                assert put.status_code == 400, put.text
                # a store that would not check: the bytes arrive anyway, and are quarantined
                await s3_app.state.services.storage.put(slot["key"], sent, "image/jpeg")
            await result(
                client,
                "events.completeEvidenceUpload",
                {"eventId": event_id, "key": slot["key"]},
                headers=device,
            )
        detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("VIEWER"))
        states = {e["kind"]: e for e in detail["evidence"]}
        assert states["OVERVIEW_IMAGE"]["state"] == "VERIFIED"
        assert states["PLATE_CROP"]["state"] == "QUARANTINED"
        assert states["PLATE_CROP"]["downloadUrl"] is None
        downloaded = await network.get(states["OVERVIEW_IMAGE"]["downloadUrl"])
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(IMAGE).hexdigest()
    stats = await result(client, "storage.getStats")
    violations = next(f for f in stats["folders"] if f["name"] == "violations")
    assert violations["fileCount"] == 2
    (bucket,) = stats["buckets"]  # the S3 bucket, by its configured name
    assert bucket["name"] == s3_app.state.services.storage.bucket and bucket["fileCount"] == 2


async def test_verified_evidence_on_s3_cannot_be_replaced(
    client: httpx.AsyncClient, s3_app: Starlette
) -> None:
    """Attack: after VERIFIED, PUT other bytes of the same size to the still-valid presigned URL."""
    event_id = (await ingest(client, [event(1, type="SPEEDING", at=T0)]))["receipts"][0]["id"]
    device = as_device("sensor-1")
    tampered = b"X" + IMAGE[1:]
    async with httpx.AsyncClient() as network:
        slot = await result(client, "events.createEvidenceUpload", announce(event_id), headers=device)
        assert slot["headers"]["If-None-Match"] == "*"
        assert (
            slot["headers"]["x-amz-checksum-sha256"]
            == base64.b64encode(hashlib.sha256(IMAGE).digest()).decode()
        )
        first = await network.put(slot["uploadUrl"], content=IMAGE, headers=slot["headers"])
        assert first.status_code == 200, first.text
        done = await result(
            client, "events.completeEvidenceUpload", {"eventId": event_id, "key": slot["key"]}, headers=device
        )
        assert done["state"] == "VERIFIED"
        own = base64.b64encode(hashlib.sha256(tampered).digest()).decode()
        without_condition = {k: v for k, v in slot["headers"].items() if k != "If-None-Match"}
        for body, headers, refused in (
            (tampered, slot["headers"], (400, 412)),  # checksum and If-None-Match both refuse it
            (IMAGE, slot["headers"], (412,)),  # even the same bytes: never replaced
            (tampered, {**slot["headers"], "x-amz-checksum-sha256": own}, (403,)),  # signed header
            (IMAGE, without_condition, (403,)),  # If-None-Match is signed too
        ):
            response = await network.put(slot["uploadUrl"], content=body, headers=headers)
            assert response.status_code in refused, (response.status_code, response.text)
        detail = await result(client, "events.getById", {"id": event_id}, headers=as_role("VIEWER"))
        [evidence] = detail["evidence"]
        assert evidence["state"] == "VERIFIED"
        downloaded = await network.get(evidence["downloadUrl"])
        assert downloaded.status_code == 200 and downloaded.content == IMAGE
