"""Signed links are absolute (on the configured public URL, else the caller's Host) and downloads
carry a file name."""

from __future__ import annotations

import httpx

from tests.storage.test_procedures import put_file
from tests.support import as_role, result

ADMIN = as_role("ADMIN")


async def test_links_are_absolute_and_downloads_are_named(client: httpx.AsyncClient) -> None:
    key = await put_file(client, "sensors/sensor-1", "snapshot.jpg", b"\xff\xd8jpeg", "image/jpeg")
    link = await result(client, "storage.getDownloadUrl", {"key": key}, headers=ADMIN)
    assert link["url"].startswith("http://tvms.test/storage/objects/sensors/sensor-1/snapshot.jpg?")
    response = await client.get(link["url"])
    assert response.content == b"\xff\xd8jpeg"
    assert response.headers["content-disposition"] == 'attachment; filename="sensors_sensor-1_snapshot.jpg"'
    # the name is signed: a link edited to save the file under another name is refused
    forged = link["url"].replace("filename=sensors_sensor-1_snapshot.jpg", "filename=invoice.exe")
    assert forged != link["url"] and (await client.get(forged)).status_code == 403


async def test_links_follow_the_host_the_caller_used(client: httpx.AsyncClient) -> None:
    headers = {**as_role("OPERATOR"), "host": "tvms.city.example:8443", "x-forwarded-host": "evil.example"}
    slot = await result(
        client,
        "storage.getUploadUrl",
        {"folder": "sensors/s9", "filename": "a.jpg", "contentType": "image/jpeg", "size": 2},
        headers=headers,
    )
    # X-Forwarded-Host counts only when TVMS_TRUST_FORWARDED says a proxy sets it
    assert slot["url"].startswith("http://tvms.city.example:8443/storage/objects/sensors/s9/a.jpg?")
    forged = await result(
        client,
        "storage.getUploadUrl",
        {"folder": "sensors/s9", "filename": "b.jpg", "contentType": "image/jpeg", "size": 2},
        headers={**as_role("OPERATOR"), "host": "evil.example/phish?"},
    )
    assert forged["url"].startswith("http://127.0.0.1:8000/storage/objects/")
