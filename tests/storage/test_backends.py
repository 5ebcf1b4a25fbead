"""One suite, two backends (local files and SeaweedFS S3): the Storage interface's contract."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.storage.conftest import Backend
from tvms.storage import InvalidKey, ObjectNotFound, ObjectTooLarge, StorageError
from tvms.storage.base import MAX_OBJECT_BYTES, download_name, validate_prefix

JPEG = b"\xff\xd8\xff\xe0" + b"evidence" * 100

BAD_KEYS = [
    "",
    "../secret.jpg",
    "a/../../b.jpg",
    "/etc/passwd.jpg",
    "a//b.jpg",
    "a/./b.jpg",
    "a\\b.jpg",
    "nul\x00.jpg",
    "line\nbreak.jpg",
    "tab\t.jpg",
    ".hidden.jpg",
    "events/.tmp-1.jpg",
    "-dash.jpg",
    "no-extension",
    "script.html",
    "virus.exe",
    "caf\u00e9.jpg",
    "a/" * 300 + "x.jpg",
    "events/",
    # a trailing newline in a segment (`$` in the segment pattern used to allow it)
    "reports/sub\n/x.csv",
    "sub\n/x.jpg",
    "events/2024\n/11/e1.jpg",
    "x.csv\n",
]


async def test_put_get_stat_delete(backend: Backend) -> None:
    storage = backend.storage
    info = await storage.put("events/2024/11/e1.jpg", JPEG, "image/jpeg")
    assert (info.key, info.size, info.content_type) == ("events/2024/11/e1.jpg", len(JPEG), "image/jpeg")
    assert await storage.get("events/2024/11/e1.jpg") == JPEG
    stat = await storage.stat("events/2024/11/e1.jpg")
    assert (stat.size, stat.content_type) == (len(JPEG), "image/jpeg")
    assert stat.last_modified_ms > 1_600_000_000_000
    assert await storage.sha256("events/2024/11/e1.jpg") == (len(JPEG), hashlib.sha256(JPEG).hexdigest())
    assert await storage.delete("events/2024/11/e1.jpg") is True
    assert await storage.delete("events/2024/11/e1.jpg") is False
    with pytest.raises(ObjectNotFound):
        await storage.get("events/2024/11/e1.jpg")
    with pytest.raises(ObjectNotFound):
        await storage.stat("events/2024/11/e1.jpg")
    with pytest.raises(ObjectNotFound):
        await storage.sha256("events/2024/11/e1.jpg")


async def test_put_replaces(backend: Backend) -> None:
    await backend.storage.put("reports/r1.json", b'{"a":1}', "application/json")
    await backend.storage.put("reports/r1.json", b'{"a":2}', "application/json")
    assert await backend.storage.get("reports/r1.json") == b'{"a":2}'


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_refused_everywhere(backend: Backend, key: str) -> None:
    storage = backend.storage
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    with pytest.raises(InvalidKey):
        await storage.stat(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    with pytest.raises(InvalidKey):
        await storage.presign_get(key)
    with pytest.raises(InvalidKey):
        await storage.presign_put(key, "image/jpeg", 1)


async def test_content_type_must_match_extension(backend: Backend) -> None:
    with pytest.raises(InvalidKey):
        await backend.storage.put("sensors/s1/snapshot.jpg", b"<html>", "text/html")
    with pytest.raises(InvalidKey):
        await backend.storage.put("sensors/s1/snapshot.jpg", b"png", "image/png")
    with pytest.raises(InvalidKey):
        await backend.storage.presign_put("reports/r.pdf", "image/jpeg", 10)


async def test_size_limit(backend: Backend) -> None:
    with pytest.raises(ObjectTooLarge):
        await backend.storage.presign_put("reports/r.pdf", "application/pdf", MAX_OBJECT_BYTES + 1)
    with pytest.raises(ObjectTooLarge):
        await backend.storage.presign_put("reports/r.pdf", "application/pdf", -1)
    signed = await backend.storage.presign_put("reports/r.pdf", "application/pdf", MAX_OBJECT_BYTES)
    assert signed.method == "PUT"


async def test_list_pages_without_overlap_or_gap(backend: Backend) -> None:
    storage = backend.storage
    keys = sorted(f"events/2024/{month:02d}/e{n:03d}.jpg" for month in (1, 11, 12) for n in range(7))
    await asyncio.gather(*(storage.put(key, b"x" * (i + 1), "image/jpeg") for i, key in enumerate(keys)))
    await storage.put("reports/r1.csv", b"a,b", "text/csv")
    seen: list[str] = []
    cursor = None
    while True:
        page = await storage.list("events/", cursor, limit=4)
        seen += [item.key for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == keys
    partial = await storage.list("events/2024/1", None, limit=1000)
    assert [item.key for item in partial.items] == [k for k in keys if k.startswith("events/2024/1")]
    assert partial.next_cursor is None
    everything = await storage.list("", None, limit=1000)
    assert len(everything.items) == len(keys) + 1
    assert (await storage.list("nothing/", None)).items == []
    sizes = {item.key: item.size for item in everything.items}
    assert sizes["reports/r1.csv"] == 3


async def test_list_refuses_bad_prefix_and_cursor(backend: Backend) -> None:
    with pytest.raises(InvalidKey):
        await backend.storage.list("../", None)
    with pytest.raises(InvalidKey):
        await backend.storage.list("events/", "%%%not-base64")


async def test_presigned_get(backend: Backend) -> None:
    await backend.storage.put("violations/v1/image.jpg", JPEG, "image/jpeg")
    signed = await backend.storage.presign_get("violations/v1/image.jpg")
    response = await backend.http.get(signed.url)
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["content-type"].startswith("image/jpeg")


async def test_presigned_get_names_the_download(backend: Backend) -> None:
    await backend.storage.put("reports/r1.pdf", b"%PDF-1.7", "application/pdf")
    signed = await backend.storage.presign_get("reports/r1.pdf", filename='Report "Nov"\r\n/../x.pdf')
    response = await backend.http.get(signed.url)
    assert response.status_code == 200 and response.content == b"%PDF-1.7"
    # quotes, line breaks and path separators never reach the header
    assert response.headers["content-disposition"] == 'attachment; filename="Report_Nov_x.pdf"'
    plain = await backend.http.get((await backend.storage.presign_get("reports/r1.pdf")).url)
    assert "content-disposition" not in plain.headers


def test_download_names_are_safe_and_keep_their_extension() -> None:
    name = "tvms-violations-2024-11-01_2024-11-30.pdf"
    assert download_name(name) == name
    assert download_name("Отчёт.pdf") == "download.pdf"
    assert download_name("..") == "download"
    long = download_name("x" * 300 + ".csv")
    assert len(long) == 120 and long.endswith(".csv")


async def test_presigned_get_tampered_is_refused(backend: Backend) -> None:
    await backend.storage.put("violations/v1/image.jpg", JPEG, "image/jpeg")
    await backend.storage.put("violations/v2/image.jpg", b"other", "image/jpeg")
    signed = await backend.storage.presign_get("violations/v1/image.jpg")
    other_key = signed.url.replace("violations/v1/", "violations/v2/")
    assert (await backend.http.get(other_key)).status_code == 403
    last = signed.url[-1]
    flipped = signed.url[:-1] + ("0" if last != "0" else "1")
    assert (await backend.http.get(flipped)).status_code == 403
    # a download URL does not allow an upload
    assert (
        await backend.http.put(signed.url, content=b"x", headers={"content-type": "image/jpeg"})
    ).status_code == 403
    assert await backend.storage.get("violations/v1/image.jpg") == JPEG


async def test_presigned_urls_expire(backend: Backend) -> None:
    await backend.storage.put("sensors/s1/snapshot.jpg", JPEG, "image/jpeg")
    get = await backend.storage.presign_get("sensors/s1/snapshot.jpg", expires_in_s=1)
    put = await backend.storage.presign_put("sensors/s2/snapshot.jpg", "image/jpeg", 3, expires_in_s=1)
    await asyncio.sleep(2.2)
    assert (await backend.http.get(get.url)).status_code == 403
    response = await backend.http.put(put.url, content=b"abc", headers=put.headers)
    assert response.status_code == 403
    with pytest.raises(ObjectNotFound):
        await backend.storage.stat("sensors/s2/snapshot.jpg")


async def test_presigned_put(backend: Backend) -> None:
    body = b'{"plate":"123ABC02"}'
    signed = await backend.storage.presign_put("violations/v9/metadata.json", "application/json", len(body))
    assert signed.headers["Content-Type"] == "application/json"
    assert signed.expires_at_ms > 0
    response = await backend.http.put(signed.url, content=body, headers=signed.headers)
    assert response.status_code == 200, response.text
    assert await backend.storage.get("violations/v9/metadata.json") == body


async def test_presigned_put_refuses_other_type_or_size(backend: Backend) -> None:
    signed = await backend.storage.presign_put("violations/v9/image.jpg", "image/jpeg", 10)
    wrong_type = await backend.http.put(
        signed.url, content=b"0123456789", headers={"content-type": "text/html"}
    )
    assert wrong_type.status_code == 403
    too_big = await backend.http.put(signed.url, content=b"0" * 11, headers=signed.headers)
    assert too_big.status_code in (400, 403, 413)
    too_small = await backend.http.put(signed.url, content=b"0" * 9, headers=signed.headers)
    assert too_small.status_code in (400, 403)
    with pytest.raises(ObjectNotFound):
        await backend.storage.stat("violations/v9/image.jpg")
    tampered = signed.url.replace("violations/v9/", "violations/v8/")
    assert (await backend.http.put(tampered, content=b"0" * 10, headers=signed.headers)).status_code == 403


async def test_check(backend: Backend) -> None:
    await backend.storage.check()


async def test_ttl_bounds(backend: Backend) -> None:
    with pytest.raises(StorageError):
        await backend.storage.presign_get("reports/x.pdf", expires_in_s=0)
    with pytest.raises(StorageError):
        await backend.storage.presign_get("reports/x.pdf", expires_in_s=8 * 24 * 3600)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_signed_put_never_replaces_an_object(backend: Backend) -> None:
    """Attack: upload, let the object be verified, then PUT other bytes of the same size to the
    still-valid URL. Local answers 409, S3 412 (If-None-Match: *); the first bytes stay."""
    key = "violations/v7/image.jpg"
    tampered = b"X" + JPEG[1:]
    for digest in (None, sha(JPEG)):
        signed = await backend.storage.presign_put(key, "image/jpeg", len(JPEG), sha256=digest)
        first = await backend.http.put(signed.url, content=JPEG, headers=signed.headers)
        assert first.status_code == 200, first.text
        again = await backend.http.put(signed.url, content=tampered, headers=signed.headers)
        assert again.status_code in (409, 412), again.text
        same = await backend.http.put(signed.url, content=JPEG, headers=signed.headers)
        assert same.status_code in (409, 412)
        assert await backend.storage.sha256(key) == (len(JPEG), sha(JPEG))
        assert await backend.storage.delete(key)
    # a server-side put (the report worker) may still replace
    await backend.storage.put(key, JPEG, "image/jpeg")
    await backend.storage.put(key, tampered, "image/jpeg")
    assert await backend.storage.get(key) == tampered


async def test_signed_put_checks_the_announced_sha256(backend: Backend) -> None:
    """Attack: bytes of the announced size but another digest. Refused (400), nothing kept."""
    key = "events/2024/11/e9.jpg"
    tampered = b"X" + JPEG[1:]
    signed = await backend.storage.presign_put(key, "image/jpeg", len(JPEG), sha256=sha(JPEG))
    refused = await backend.http.put(signed.url, content=tampered, headers=signed.headers)
    assert refused.status_code == 400, refused.text
    with pytest.raises(ObjectNotFound):
        await backend.storage.stat(key)
    assert (await backend.storage.list("events/")).items == []  # no temporary file left either
    accepted = await backend.http.put(signed.url, content=JPEG, headers=signed.headers)
    assert accepted.status_code == 200, accepted.text
    assert await backend.storage.get(key) == JPEG


@pytest.mark.parametrize("digest", ["abc", "A" * 64, "0" * 63 + "\n", "g" * 64, "0" * 65])
async def test_presign_put_refuses_a_malformed_sha256(backend: Backend, digest: str) -> None:
    with pytest.raises(StorageError):
        await backend.storage.presign_put("events/e1.jpg", "image/jpeg", 3, sha256=digest)


async def test_signed_sha256_cannot_be_changed_or_dropped(backend: Backend) -> None:
    key = "violations/v5/image.jpg"
    tampered = b"X" + JPEG[1:]
    signed = await backend.storage.presign_put(key, "image/jpeg", len(JPEG), sha256=sha(JPEG))
    if backend.storage.name == "s3":  # the digest is a signed header: the tamperer's own is refused
        own = base64.b64encode(hashlib.sha256(tampered).digest()).decode()
        for headers in (
            {**signed.headers, "x-amz-checksum-sha256": own},
            {k: v for k, v in signed.headers.items() if k != "x-amz-checksum-sha256"},
        ):
            response = await backend.http.put(signed.url, content=tampered, headers=headers)
            assert response.status_code == 403, response.text
        with pytest.raises(ObjectNotFound):
            await backend.storage.stat(key)
        return
    parts = urlsplit(signed.url)
    query = dict(parse_qsl(parts.query))
    for changed in ({**query, "sha256": sha(tampered)}, {k: v for k, v in query.items() if k != "sha256"}):
        url = urlunsplit(parts._replace(query=urlencode(changed)))
        response = await backend.http.put(url, content=tampered, headers=signed.headers)
        assert response.status_code == 403, response.text
    # nor added to a URL signed without one
    plain = await backend.storage.presign_put(key, "image/jpeg", len(JPEG))
    plain_parts = urlsplit(plain.url)
    added = {**dict(parse_qsl(plain_parts.query)), "sha256": sha(tampered)}
    url = urlunsplit(plain_parts._replace(query=urlencode(added)))
    assert (await backend.http.put(url, content=tampered, headers=plain.headers)).status_code == 403
    with pytest.raises(ObjectNotFound):
        await backend.storage.stat(key)


@pytest.mark.parametrize("prefix", ["reports/sub\n/", "sub\n/x", "reports\n"])
def test_prefix_with_trailing_newline_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)
