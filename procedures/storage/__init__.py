"""`storage.*`: usage against the quota, signed upload/download URLs, listing and deletion.

Evidence (`events/`, `violations/`) is written only through `events.createEvidenceUpload`, which
verifies what arrives, and `reports/` only by the report worker; this router uploads sensor
snapshots. Report files belong to their owners (served by `reports.getDownloadUrl`), so through
`storage.*` only administrators list or download `reports/`.
"""

from __future__ import annotations

from msgspec import UNSET

from procedures.settings.store import get_value
from procedures.state import state_of
from procedures.storage.quota import reserve
from procedures.storage.schemas import (
    Bucket,
    Deleted,
    DownloadUrl,
    Folder,
    KeyInput,
    ListInput,
    ObjectList,
    StorageStats,
    StoredObject,
    UploadUrl,
    UploadUrlInput,
)
from procedures.storage.usage import LAYOUT, Totals
from tvms.clock import iso_ms
from tvms.rpc import PUBLIC, USER, Context, ErrorCode, Router, RpcError, invalid_params, roles
from tvms.rpc.origin import absolute
from tvms.rpc.router import Example
from tvms.storage import (
    DEFAULT_BUCKET,
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    content_type_of,
    validate_key,
)
from tvms.storage.base import ObjectInfo

storage_router = Router("storage")
EVIDENCE_FOLDERS = frozenset({"events", "violations"})
REPORTS = "reports"
_REPORTS_PREFIX = REPORTS + "/"


def _is_admin(ctx: Context) -> bool:
    return ctx.principal is not None and ctx.principal.role == "ADMIN"


def _is_evidence(key: str) -> bool:
    return key.split("/", 1)[0] in EVIDENCE_FOLDERS


def _is_report(key: str) -> bool:
    return key.split("/", 1)[0] == REPORTS


async def _usage(ctx: Context) -> Totals:
    return await state_of(ctx.services).usage.get()


@storage_router.query(
    "getStats",
    auth=PUBLIC,
    examples=[
        Example(
            "an empty store with the default 10 GB quota",
            result={
                "totalStorage": 10_737_418_240,
                "usedStorage": 0,
                "availableStorage": 10_737_418_240,
                "buckets": [
                    {
                        "name": DEFAULT_BUCKET,
                        "size": 0,
                        "fileCount": 0,
                        "lastModified": "2024-11-15T12:00:00.000Z",
                    }
                ],
                "folders": [{"name": name, "size": 0, "fileCount": 0} for name in LAYOUT],
            },
        )
    ],
)
async def get_stats(ctx: Context) -> StorageStats:
    """Storage quota (setting `storage.quotaBytes`, default 10 GB), real usage, and usage per folder.

    Sizes are bytes. `buckets` holds the one store, named from configuration (the S3 bucket, or
    `?bucket=` of a local `TVMS_STORAGE_URL`, default `smart-city-storage`); its `lastModified` is
    the newest object's time, or the time of the call for an empty store. `folders` breaks usage
    down by top-level folder (`lastModified` left out while a folder is empty). Usage comes from
    a walk over every stored object, reused for 5 s or ten times as long as the walk took
    (whichever is longer), so figures may lag recent uploads.
    """
    quota = int(await get_value(ctx, "storage.quotaBytes"))
    usage = await _usage(ctx)
    used = sum(size for size, _, _ in usage.values())
    folders = [
        Folder(
            name=name,
            size=size,
            file_count=count,
            last_modified=UNSET if newest is None else iso_ms(newest),
        )
        for name, (size, count, newest) in usage.items()
    ]
    times = [newest for _, _, newest in usage.values() if newest is not None]
    bucket = Bucket(
        name=ctx.storage.bucket,
        size=used,
        file_count=sum(count for _, count, _ in usage.values()),
        last_modified=iso_ms(max(times) if times else ctx.clock.now_ms()),
    )
    return StorageStats(
        total_storage=quota,
        used_storage=used,
        available_storage=max(0, quota - used),
        buckets=[bucket],
        folders=folders,
    )


@storage_router.mutation("getUploadUrl", auth=roles("OPERATOR", "ADMIN"))
async def get_upload_url(ctx: Context, input: UploadUrlInput) -> UploadUrl:
    """A signed, absolute URL to PUT one new file (≤ 100 MB) at `{folder}/{filename}` under `sensors/`.

    Types: JPEG, PNG, WebP, GIF images; PDF, CSV, JSON documents (the extension must match).
    The URL reserves `size` bytes of the storage quota until it expires or the upload is
    stored: PAYLOAD_TOO_LARGE when stored files, other unexpired URLs and this upload would
    exceed the quota (`error.data`: quotaBytes, usedBytes, reservedBytes). CONFLICT when a file already
    exists under that key (an upload never replaces one). `reports/` is written by the report
    worker only, evidence folders by devices only (both FORBIDDEN).
    """
    folder = input.folder.strip("/")
    top = folder.split("/", 1)[0]
    if top in EVIDENCE_FOLDERS:
        raise RpcError(
            ErrorCode.FORBIDDEN, "Evidence is uploaded by devices through events.createEvidenceUpload"
        )
    if top == REPORTS:
        raise RpcError(ErrorCode.FORBIDDEN, "Report files are written by the report generator only")
    if top not in LAYOUT:
        raise invalid_params("$.folder", "folder must be under sensors/")
    if "/" in input.filename:
        raise invalid_params("$.filename", "filename must not contain '/'")
    key = f"{folder}/{input.filename}"
    content_type = input.content_type.lower()
    try:
        validate_key(key)
        if content_type_of(key) != content_type or content_type == "video/mp4":
            raise invalid_params("$.contentType", "contentType must match the filename's extension")
    except InvalidKey as exc:
        raise invalid_params("$.filename", str(exc)) from None
    try:
        await ctx.storage.stat(key)
    except ObjectNotFound:
        pass
    else:  # the signed PUT refuses to replace it too; saying so here spares a wasted upload
        raise RpcError(ErrorCode.CONFLICT, "A file already exists under this key")
    try:
        signed = await ctx.storage.presign_put(key, content_type, input.size)
    except ObjectTooLarge:
        raise RpcError(ErrorCode.PAYLOAD_TOO_LARGE, "Files are limited to 100 MB") from None
    await reserve(ctx, key, input.size)  # the URL leaves only once its size is reserved
    state_of(ctx.services).usage.forget()
    return UploadUrl(
        key=key,
        url=absolute(signed.url, ctx.base_url),
        method=signed.method,
        headers=signed.headers,
        expires_at=iso_ms(signed.expires_at_ms),
    )


@storage_router.query("getDownloadUrl", auth=USER)
async def get_download_url(ctx: Context, input: KeyInput) -> DownloadUrl:
    """A signed, expiring, absolute URL to download one object, saved under a name made of its
    key (`sensors/s1/snapshot.jpg` → `sensors_s1_snapshot.jpg`).

    Under `events/` and `violations/` only verified evidence is served to non-administrators
    (not pending, quarantined or unregistered files), and report files are served to
    administrators only (their owners use reports.getDownloadUrl).
    """
    try:
        validate_key(input.key)
    except InvalidKey as exc:
        raise invalid_params("$.key", str(exc)) from None
    if _is_report(input.key) and not _is_admin(ctx):  # before stat: no existence oracle either
        raise RpcError(ErrorCode.FORBIDDEN, "Report files are downloaded through reports.getDownloadUrl")
    try:
        await ctx.storage.stat(input.key)
    except ObjectNotFound:
        raise RpcError(ErrorCode.NOT_FOUND, "No such object") from None
    if _is_evidence(input.key) and not _is_admin(ctx):
        # Only a file an evidence item points at AND that was verified: a file in an evidence
        # folder with no item (an abandoned announcement) is not evidence either.
        state = await ctx.db.fetchval(
            "SELECT state FROM evidence WHERE object_key = :key", {"key": input.key}
        )
        if state != "VERIFIED":
            raise RpcError(ErrorCode.FORBIDDEN, "This file is not verified evidence")
    signed = await ctx.storage.presign_get(input.key, filename=input.key.replace("/", "_"))
    return DownloadUrl(url=absolute(signed.url, ctx.base_url), expires_at=iso_ms(signed.expires_at_ms))


@storage_router.query("list", auth=USER)
async def list_objects(ctx: Context, input: ListInput) -> ObjectList:
    """Objects whose key starts with `prefix`, in key order; pass `nextCursor` back for more.

    `reports/` is listed to administrators only: for others a prefix inside it is FORBIDDEN and a
    wider prefix leaves its files out (a page may then hold fewer than `take` items).
    """
    admin = _is_admin(ctx)
    if not admin and input.prefix.startswith(_REPORTS_PREFIX):
        raise RpcError(ErrorCode.FORBIDDEN, "Report files are listed through reports.getAll")
    try:
        page = await ctx.storage.list(input.prefix, input.cursor, limit=input.take)
    except InvalidKey as exc:
        raise invalid_params("$.cursor" if "cursor" in str(exc) else "$.prefix", str(exc)) from None
    visible: list[ObjectInfo] = [item for item in page.items if admin or not _is_report(item.key)]
    return ObjectList(
        items=[
            StoredObject(
                key=item.key,
                size=item.size,
                content_type=item.content_type,
                last_modified=iso_ms(item.last_modified_ms),
            )
            for item in visible
        ],
        next_cursor=page.next_cursor,
    )


@storage_router.mutation("delete", auth=roles("ADMIN"))
async def delete(ctx: Context, input: KeyInput) -> Deleted:
    """Delete one object (ADMIN). Evidence records pointing at it are removed with it."""
    try:
        validate_key(input.key)
    except InvalidKey as exc:
        raise invalid_params("$.key", str(exc)) from None
    if not await ctx.storage.delete(input.key):
        raise RpcError(ErrorCode.NOT_FOUND, "No such object")
    await ctx.db.execute("DELETE FROM evidence WHERE object_key = :key", {"key": input.key})
    state_of(ctx.services).usage.forget()
    return Deleted(key=input.key, deleted=True)
