"""storage.*: stats against the quota, upload/download URLs, listing, deletion (ADMIN)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from procedures.state import state_of
from tests.events.conftest import config, sensors  # noqa: F401  (the same app, with sensors)
from tests.support import as_device, as_role, call, error, result
from tvms.clock import ManualClock, iso_ms
from tvms.conformance.examples import compare
from tvms.db import Database
from tvms.storage import open_storage
from tvms.storage.base import ObjectPage

ADMIN = as_role("ADMIN")
OPERATOR = as_role("OPERATOR")


async def put_file(
    client: httpx.AsyncClient, folder: str, filename: str, data: bytes, content_type: str
) -> str:
    slot = await result(
        client,
        "storage.getUploadUrl",
        {"folder": folder, "filename": filename, "contentType": content_type, "size": len(data)},
        headers=OPERATOR,
    )
    response = await client.put(slot["url"], content=data, headers=slot["headers"])
    assert response.status_code == 200, response.text
    key: str = slot["key"]
    return key


async def test_stats_count_real_usage(client: httpx.AsyncClient, app: Any, clock: ManualClock) -> None:
    empty = await result(client, "storage.getStats")
    assert empty["totalStorage"] == 10 * 1024**3
    assert (empty["usedStorage"], empty["availableStorage"]) == (0, 10 * 1024**3)
    # the documented shape: one bucket, named from configuration, with an ISO time
    assert empty["buckets"] == [
        {"name": "smart-city-storage", "size": 0, "fileCount": 0, "lastModified": iso_ms(clock.now_ms())}
    ]
    assert [f["name"] for f in empty["folders"]] == ["events", "violations", "reports", "sensors"]
    assert {f["fileCount"] for f in empty["folders"]} == {0}
    assert not any("lastModified" in f for f in empty["folders"])  # nothing there: no time
    await app.state.services.storage.put("reports/r1.pdf", b"%PDF-1.7 report", "application/pdf")
    await put_file(client, "sensors/sensor-1", "snapshot.jpg", b"\xff\xd8jpeg", "image/jpeg")
    state_of(app.state.services).usage.forget()  # written around the API: walk again
    stats = await result(client, "storage.getStats")
    assert stats["usedStorage"] == len(b"%PDF-1.7 report") + len(b"\xff\xd8jpeg")
    by_name = {f["name"]: f for f in stats["folders"]}
    assert by_name["reports"]["fileCount"] == 1 and by_name["reports"]["lastModified"] is not None
    assert by_name["sensors"]["size"] == len(b"\xff\xd8jpeg")
    (bucket,) = stats["buckets"]
    assert (bucket["size"], bucket["fileCount"]) == (stats["usedStorage"], 2)
    assert bucket["lastModified"] == max(f["lastModified"] for f in stats["folders"] if "lastModified" in f)
    assert "lastModified" not in by_name["events"]  # still empty
    # the documented example still holds for a store with files (the self-check's view)
    (example,) = app.state.registry["storage.getStats"].examples
    problems, _ = compare(example.result, stats)
    assert problems == []


async def test_the_bucket_is_named_from_configuration(tmp_path: Path) -> None:
    storage = open_storage(f"file://{tmp_path}/store?bucket=city-evidence")
    assert storage.bucket == "city-evidence"
    assert open_storage(f"file://{tmp_path}/store").bucket == "smart-city-storage"


async def test_quota_comes_from_settings(client: httpx.AsyncClient, app: Any) -> None:
    db: Database = app.state.services.db
    await db.execute("INSERT INTO settings (key, value, updated_at) VALUES ('storage.quotaBytes', '100', 0)")
    stats = await result(client, "storage.getStats")
    assert stats["totalStorage"] == 100
    too_big = await error(
        client,
        "storage.getUploadUrl",
        {"folder": "sensors", "filename": "big.csv", "contentType": "text/csv", "size": 101},
        headers=OPERATOR,
    )
    assert too_big["data"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "params",
    [
        {"folder": "../etc", "filename": "x.pdf", "contentType": "application/pdf", "size": 1},
        {"folder": "sensors/s1", "filename": "../x.pdf", "contentType": "application/pdf", "size": 1},
        {"folder": "sensors/s1", "filename": "x.pdf", "contentType": "image/png", "size": 1},
        {"folder": "sensors/s1", "filename": "x.html", "contentType": "text/html", "size": 1},
        {"folder": "sensors/s1", "filename": "clip.mp4", "contentType": "video/mp4", "size": 1},
        {"folder": "sensors/s1", "filename": "x\u0000.pdf", "contentType": "application/pdf", "size": 1},
        {
            "folder": "sensors/s1",
            "filename": "x.pdf",
            "contentType": "application/pdf",
            "size": 100 * 1024 * 1024 + 1,
        },
        {"folder": "sensors/s1", "filename": "x.pdf", "contentType": "application/pdf", "size": 0},
        {"folder": "tmp", "filename": "x.pdf", "contentType": "application/pdf", "size": 1},
        {"folder": "sensors/s1", "filename": "x.pdf", "contentType": "application/pdf"},
    ],
)
async def test_upload_url_validation(client: httpx.AsyncClient, app: Any, params: dict[str, Any]) -> None:
    assert (await error(client, "storage.getUploadUrl", params, headers=OPERATOR))["code"] == -32602


async def test_evidence_folders_are_for_devices(client: httpx.AsyncClient, app: Any) -> None:
    for folder in ("events/2024/11", "violations/v1"):
        params = {"folder": folder, "filename": "image.jpg", "contentType": "image/jpeg", "size": 10}
        assert (await error(client, "storage.getUploadUrl", params, headers=ADMIN))["data"][
            "code"
        ] == "FORBIDDEN"


async def test_download_list_delete(client: httpx.AsyncClient, app: Any) -> None:
    keys = [
        await put_file(client, "sensors/s1", f"r{n}.csv", f"a,b\n{n},1".encode(), "text/csv")
        for n in range(5)
    ]
    url = await result(client, "storage.getDownloadUrl", {"key": keys[0]}, headers=as_role("VIEWER"))
    assert (await client.get(url["url"])).content == b"a,b\n0,1"
    first = await result(client, "storage.list", {"prefix": "sensors/", "take": 3}, headers=as_role("VIEWER"))
    rest = await result(
        client, "storage.list", {"prefix": "sensors/", "cursor": first["nextCursor"]}, headers=OPERATOR
    )
    assert [i["key"] for i in first["items"] + rest["items"]] == keys
    assert rest["nextCursor"] is None
    assert first["items"][0]["contentType"] == "text/csv"
    denied = await error(client, "storage.delete", {"key": keys[0]}, headers=OPERATOR)
    assert denied["data"]["code"] == "FORBIDDEN"
    assert (await result(client, "storage.delete", {"key": keys[0]}, headers=ADMIN))["deleted"] is True
    gone = await error(client, "storage.delete", {"key": keys[0]}, headers=ADMIN)
    assert gone["data"]["code"] == "NOT_FOUND"
    missing = await error(client, "storage.getDownloadUrl", {"key": keys[0]}, headers=ADMIN)
    assert missing["data"]["code"] == "NOT_FOUND"
    for bad in ("../x.pdf", "/etc/passwd", "a\\b.pdf"):
        assert (await error(client, "storage.getDownloadUrl", {"key": bad}, headers=ADMIN))["code"] == -32602
        assert (await error(client, "storage.delete", {"key": bad}, headers=ADMIN))["code"] == -32602
    assert (await error(client, "storage.list", {"prefix": "../"}, headers=ADMIN))["code"] == -32602
    assert (await error(client, "storage.list", {"cursor": "!!"}, headers=ADMIN))["code"] == -32602


async def test_storage_auth(client: httpx.AsyncClient, app: Any) -> None:
    assert "result" in await call(client, "storage.getStats")  # documented as public
    upload = {"folder": "sensors", "filename": "x.pdf", "contentType": "application/pdf", "size": 1}
    assert (await error(client, "storage.getUploadUrl", upload))["data"]["code"] == "UNAUTHORIZED"
    viewer = await error(client, "storage.getUploadUrl", upload, headers=as_role("VIEWER"))
    assert viewer["data"]["code"] == "FORBIDDEN"
    device = await error(client, "storage.list", {}, headers=as_device("sensor-1"))
    assert device["data"]["code"] == "FORBIDDEN"
    assert (await error(client, "storage.list", {}))["data"]["code"] == "UNAUTHORIZED"


ADMIN_REPORT = b"plate,fine\n123ABC02,50000\n"


async def admin_report(app: Any) -> str:
    """A report file as the report worker writes it (server side, never through a signed URL)."""
    key = "reports/2024/11/admin-report.csv"
    await app.state.services.storage.put(key, ADMIN_REPORT, "text/csv")
    return key


@pytest.mark.parametrize("role", ["OPERATOR", "ADMIN"])
async def test_reports_folder_is_written_by_the_worker_only(
    client: httpx.AsyncClient, app: Any, role: str
) -> None:
    """Attack: an OPERATOR asks for an upload URL over an admin's report file."""
    key = await admin_report(app)
    for folder in ("reports", "reports/2024/11", "/reports/", "reports/sub"):
        params = {"folder": folder, "filename": "admin-report.csv", "contentType": "text/csv", "size": 5}
        refused = await error(client, "storage.getUploadUrl", params, headers=as_role(role))
        assert refused["data"]["code"] == "FORBIDDEN"
    assert await app.state.services.storage.get(key) == ADMIN_REPORT


@pytest.mark.parametrize("role", ["VIEWER", "OPERATOR"])
async def test_reports_are_read_through_storage_by_admins_only(
    client: httpx.AsyncClient, app: Any, role: str
) -> None:
    """Attack: a user refused by reports.getAll lists reports/ and downloads an admin's report."""
    key = await admin_report(app)
    snapshot = await put_file(client, "sensors/s1", "snapshot.jpg", b"\xff\xd8jpeg", "image/jpeg")
    who = as_role(role)
    download = await error(client, "storage.getDownloadUrl", {"key": key}, headers=who)
    assert download["data"]["code"] == "FORBIDDEN"
    missing = await error(client, "storage.getDownloadUrl", {"key": "reports/nope.csv"}, headers=who)
    assert missing["data"]["code"] == "FORBIDDEN"  # the same answer: no existence oracle
    for prefix in ("reports/", "reports/2024/"):
        listed = await error(client, "storage.list", {"prefix": prefix}, headers=who)
        assert listed["data"]["code"] == "FORBIDDEN"
    for prefix in ("", "r", "reports"):
        page = await result(client, "storage.list", {"prefix": prefix}, headers=who)
        assert all(not item["key"].startswith("reports/") for item in page["items"])
    everything = await result(client, "storage.list", {}, headers=who)
    assert [item["key"] for item in everything["items"]] == [snapshot]
    # administrators still see and fetch everything
    admin_list = await result(client, "storage.list", {"prefix": "reports/"}, headers=ADMIN)
    assert [item["key"] for item in admin_list["items"]] == [key]
    url = await result(client, "storage.getDownloadUrl", {"key": key}, headers=ADMIN)
    assert (await client.get(url["url"])).content == ADMIN_REPORT


async def test_upload_url_never_overwrites(client: httpx.AsyncClient, app: Any) -> None:
    """Attack: an OPERATOR replaces an existing file through a (new or earlier) upload URL."""
    params = {"folder": "sensors/s1", "filename": "snapshot.jpg", "contentType": "image/jpeg", "size": 5}
    early = await result(client, "storage.getUploadUrl", params, headers=OPERATOR)
    key = await put_file(client, "sensors/s1", "snapshot.jpg", b"\xff\xd8one", "image/jpeg")
    conflict = await error(client, "storage.getUploadUrl", params, headers=OPERATOR)
    assert conflict["data"]["code"] == "CONFLICT"
    replaced = await client.put(early["url"], content=b"\xff\xd8two", headers=early["headers"])
    assert replaced.status_code == 409
    assert await app.state.services.storage.get(key) == b"\xff\xd8one"


async def test_concurrent_stats_share_one_walk(client: httpx.AsyncClient, app: Any) -> None:
    # storage.getStats is public: a crowd of callers must not start a walk each.
    services = app.state.services
    for n in range(3):
        await services.storage.put(f"sensors/s{n}/snapshot.jpg", b"\xff\xd8jpeg", "image/jpeg")
    usage = state_of(services).usage
    answers = await asyncio.gather(*(result(client, "storage.getStats") for _ in range(20)))
    assert usage.walks == 1
    assert {a["usedStorage"] for a in answers} == {3 * len(b"\xff\xd8jpeg")}


async def test_a_slow_walk_is_reused_ten_times_as_long(
    client: httpx.AsyncClient, app: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.state.services
    real_list = services.storage.list

    async def slow_list(prefix: str, cursor: str | None = None, *, limit: int = 1000) -> ObjectPage:
        clock.advance(3)  # each walk "takes" 3 s: its result lives 30 s
        page: ObjectPage = await real_list(prefix, cursor, limit=limit)
        return page

    monkeypatch.setattr(services.storage, "list", slow_list)
    usage = state_of(services).usage
    await result(client, "storage.getStats")
    assert usage.walks == 1
    clock.advance(20)  # past the 5 s minimum, within 10 x 3 s
    await services.storage.put("sensors/s1/snapshot.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert (await result(client, "storage.getStats"))["usedStorage"] == 0  # reused
    assert usage.walks == 1
    clock.advance(11)
    assert (await result(client, "storage.getStats"))["usedStorage"] == len(b"\xff\xd8jpeg")
    assert usage.walks == 2
    # an upload URL issued by this process makes the next call walk at once
    await put_file(client, "sensors/s2", "snapshot.jpg", b"\xff\xd8jpeg2", "image/jpeg")
    assert (await result(client, "storage.getStats"))["usedStorage"] == 2 * len(b"\xff\xd8jpeg") + 1
    assert usage.walks == 3


async def _set_quota(app: Any, quota: int) -> None:
    db: Database = app.state.services.db
    await db.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ('storage.quotaBytes', :value, 0)",
        {"value": str(quota)},
    )
    app.state.services.cache.invalidate("settings:")


def _upload(name: str, size: int) -> dict[str, Any]:
    return {"folder": "sensors/s1", "filename": name, "contentType": "text/csv", "size": size}


async def test_issued_urls_reserve_the_quota(client: httpx.AsyncClient, app: Any, clock: ManualClock) -> None:
    """The review's bypass: with a 1,000,000-byte quota, five 900,000-byte URLs before any upload."""
    await _set_quota(app, 1_000_000)
    answers = [
        await call(client, "storage.getUploadUrl", _upload(f"f{n}.csv", 900_000), headers=OPERATOR)
        for n in range(5)
    ]
    assert ["result" in a for a in answers] == [True, False, False, False, False]
    refused = answers[1]["error"]["data"]
    assert refused["code"] == "PAYLOAD_TOO_LARGE" and refused["reservedBytes"] == 900_000
    # asking again for the same key replaces its own reservation instead of adding to it
    again = await call(client, "storage.getUploadUrl", _upload("f0.csv", 900_000), headers=OPERATOR)
    assert "result" in again
    # the reservation ends when its URL expires
    clock.advance(15 * 60 + 1)
    assert "result" in await call(
        client, "storage.getUploadUrl", _upload("f1.csv", 900_000), headers=OPERATOR
    )


async def test_a_completed_upload_stops_being_reserved_once_counted(
    client: httpx.AsyncClient, app: Any, clock: ManualClock
) -> None:
    await _set_quota(app, 1000)
    data = b"a,b\n" + b"1" * 596  # 600 bytes
    slot = await result(client, "storage.getUploadUrl", _upload("a.csv", len(data)), headers=OPERATOR)
    assert (await client.put(slot["url"], content=data, headers=slot["headers"])).status_code == 200
    # stored (600) + what is left (400) is all there is, whether reserved or stored
    over = await call(client, "storage.getUploadUrl", _upload("b.csv", 401), headers=OPERATOR)
    assert over["error"]["data"]["code"] == "PAYLOAD_TOO_LARGE"
    clock.advance(61)  # the finished upload is in usage now and no longer reserved
    state_of(app.state.services).usage.forget()
    assert "result" in await call(client, "storage.getUploadUrl", _upload("b.csv", 400), headers=OPERATOR)
    over = await call(client, "storage.getUploadUrl", _upload("c.csv", 1), headers=OPERATOR)
    assert over["error"]["data"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.usefixtures("sensors")
async def test_evidence_uploads_count_against_the_quota(client: httpx.AsyncClient, app: Any) -> None:
    from tests.events.test_evidence import announce, new_event

    await _set_quota(app, 15_000)
    event_id = await new_event(client)
    first = await call(
        client, "events.createEvidenceUpload", announce(event_id), headers=as_device("sensor-1")
    )
    assert "result" in first  # 10,244 bytes reserved
    plate = announce(event_id, kind="PLATE_CROP")
    refused = await call(client, "events.createEvidenceUpload", plate, headers=as_device("sensor-1"))
    assert refused["error"]["data"]["code"] == "PAYLOAD_TOO_LARGE"
    sensors_upload = await call(client, "storage.getUploadUrl", _upload("x.csv", 5000), headers=OPERATOR)
    assert sensors_upload["error"]["data"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (
        await app.state.services.db.fetchval("SELECT COUNT(*) FROM evidence WHERE kind = 'PLATE_CROP'") == 0
    )
