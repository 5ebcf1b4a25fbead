"""S3-compatible object storage through aiobotocore (AWS, R2, SeaweedFS, MinIO).

`TVMS_STORAGE_URL=s3://bucket?endpoint=https://host:port&region=us-east-1`; credentials come
from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or any botocore source).
One client is opened on first use and reused; `close()` releases its connection pool.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config as BotoConfig  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from tvms.storage.base import (
    DEFAULT_URL_TTL_S,
    ObjectInfo,
    ObjectNotFound,
    ObjectPage,
    SignedUrl,
    StorageError,
    check_sha256,
    check_ttl,
    check_upload,
    content_disposition,
    content_type_of,
    decode_cursor,
    encode_cursor,
    validate_key,
    validate_prefix,
)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_CHUNK = 1024 * 1024


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# S3 operations by the name of the `Storage` method they serve (the `operation` of `on_error`).
_OPERATIONS = {
    "head_bucket": "check",
    "put_object": "put",
    "get_object": "get",
    "head_object": "stat",
    "delete_object": "delete",
    "list_objects_v2": "list",
}


class S3Storage:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """`on_error(operation)` is told of every failure of the store itself (unreachable,
        refused), not of a missing object; `operation` is the `Storage` method's name."""
        if not bucket:
            raise StorageError("the S3 storage URL needs a bucket: s3://bucket?endpoint=...")
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self._credentials = (
            {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key} if access_key else {}
        )
        self._client: Any = None
        self._probe_client: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._on_error = on_error

    async def _get_client(self, *, probe: bool = False) -> Any:
        """The client (3 attempts, patient timeouts); `probe=True`: the health check's own client,
        one attempt and short timeouts, so a dead endpoint is reported with its error quickly."""
        if (self._probe_client if probe else self._client) is None:
            async with self._lock:
                if (self._probe_client if probe else self._client) is None:
                    stack = self._stack = self._stack or AsyncExitStack()
                    config = BotoConfig(
                        signature_version="s3v4",
                        s3={"addressing_style": "path"},
                        retries={"max_attempts": 1 if probe else 3, "mode": "standard"},
                        connect_timeout=2 if probe else 5,
                        read_timeout=3 if probe else 30,
                    )
                    client = await stack.enter_async_context(
                        get_session().create_client(
                            "s3",
                            endpoint_url=self.endpoint,
                            region_name=self.region,
                            config=config,
                            **self._credentials,
                        )
                    )
                    if probe:
                        self._probe_client = client
                    else:
                        self._client = client
        return self._probe_client if probe else self._client

    def _failed(self, operation: str) -> None:
        if self._on_error is not None:
            self._on_error(_OPERATIONS.get(operation, operation))

    async def _call(self, operation: str, *, probe: bool = False, **params: Any) -> Any:
        client = await self._get_client(probe=probe)
        try:
            return await getattr(client, operation)(Bucket=self.bucket, **params)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise ObjectNotFound("no such object") from None
            self._failed(operation)
            raise StorageError(f"object storage refused the request ({_code(exc) or 'error'})") from exc
        except (TimeoutError, BotoCoreError, OSError) as exc:
            self._failed(operation)
            raise StorageError("object storage is unreachable") from exc

    # -- the interface ---------------------------------------------------------------------
    async def check(self) -> None:
        await self._call("head_bucket", probe=True)

    async def create_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests)."""
        try:
            await self._call("head_bucket")
        except (ObjectNotFound, StorageError):
            await self._call("create_bucket")

    async def put(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        check_upload(key, content_type, len(data))
        await self._call("put_object", Key=key, Body=data, ContentType=content_type)
        return ObjectInfo(key, len(data), content_type, int(time.time() * 1000))

    async def get(self, key: str) -> bytes:
        response = await self._call("get_object", Key=validate_key(key))
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def stat(self, key: str) -> ObjectInfo:
        head = await self._call("head_object", Key=validate_key(key))
        modified = head.get("LastModified")
        return ObjectInfo(
            key,
            int(head.get("ContentLength", 0)),
            content_type_of(key),
            int(modified.timestamp() * 1000) if modified else 0,
        )

    async def sha256(self, key: str) -> tuple[int, str]:
        response = await self._call("get_object", Key=validate_key(key))
        hasher, size = hashlib.sha256(), 0
        try:
            async with response["Body"] as body:
                while chunk := await body.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except (TimeoutError, BotoCoreError, OSError) as exc:
            self._failed("sha256")
            raise StorageError("object storage is unreachable") from exc
        return size, hasher.hexdigest()

    async def delete(self, key: str) -> bool:
        # S3 deletes are silent about missing objects: ask first so callers can say NOT_FOUND.
        try:
            await self._call("head_object", Key=validate_key(key))
        except ObjectNotFound:
            return False
        await self._call("delete_object", Key=key)
        return True

    async def list(self, prefix: str = "", cursor: str | None = None, limit: int = 1000) -> ObjectPage:
        validate_prefix(prefix)
        params: dict[str, Any] = {"Prefix": prefix, "MaxKeys": max(1, min(limit, 1000))}
        if cursor:
            params["StartAfter"] = decode_cursor(cursor)
        response = await self._call("list_objects_v2", **params)
        items = []
        for entry in response.get("Contents", []):
            try:
                content_type = content_type_of(entry["Key"])
            except StorageError:  # an object not written by us: not ours to list
                content_type = "application/octet-stream"
            items.append(
                ObjectInfo(
                    entry["Key"],
                    int(entry["Size"]),
                    content_type,
                    int(entry["LastModified"].timestamp() * 1000),
                )
            )
        more = bool(response.get("IsTruncated")) and bool(items)
        return ObjectPage(items, encode_cursor(items[-1].key) if more else None)

    async def presign_get(
        self, key: str, expires_in_s: int = DEFAULT_URL_TTL_S, *, filename: str | None = None
    ) -> SignedUrl:
        validate_key(key)
        ttl = check_ttl(expires_in_s)
        client = await self._get_client()
        params = {"Bucket": self.bucket, "Key": key}
        if filename is not None:  # signed into the URL; the store sends it back as the header
            params["ResponseContentDisposition"] = content_disposition(filename)
        url = await client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)
        return SignedUrl(url, int((time.time() + ttl) * 1000), "GET", {})

    async def presign_put(
        self,
        key: str,
        content_type: str,
        size: int,
        expires_in_s: int = DEFAULT_URL_TTL_S,
        *,
        sha256: str | None = None,
    ) -> SignedUrl:
        check_upload(key, content_type, size)
        check_sha256(sha256)
        ttl = check_ttl(expires_in_s)
        client = await self._get_client()
        # Every parameter below becomes a signed header the client must send as given:
        # Content-Type and Content-Length (no other type or size), If-None-Match: * (the store
        # refuses to replace an existing object, 412) and x-amz-checksum-sha256 (other bytes are
        # refused, 400 BadDigest). AWS S3 and SeaweedFS enforce both; a store that ignored them
        # would still be caught for the checksum by events.completeEvidenceUpload's re-hash.
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
            "IfNoneMatch": "*",
        }
        headers = {"Content-Type": content_type, "If-None-Match": "*"}
        if sha256 is not None:
            checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
            params["ChecksumSHA256"] = checksum
            headers["x-amz-checksum-sha256"] = checksum
        url = await client.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl)
        return SignedUrl(url, int((time.time() + ttl) * 1000), "PUT", headers)

    async def close(self) -> None:
        stack, self._stack, self._client, self._probe_client = self._stack, None, None, None
        if stack is not None:
            await stack.aclose()
