"""Object storage for evidence images, snapshots and reports: local files or S3.

`open_storage(url)` picks the backend from `TVMS_STORAGE_URL`:
- `file:///abs/path` or `file://relative/path` (default `<data dir>/storage`), optionally
  `?public_url=https://api.example.com` to sign URLs on that address (else procedures make them
  absolute on the service's public URL, see `tvms.rpc.origin`) and `?bucket=NAME` to name the
  store in `storage.getStats` (default `smart-city-storage`);
- `s3://bucket?endpoint=https://host:port&region=us-east-1` (credentials from the environment).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tvms.storage import signing
from tvms.storage.base import (
    CONTENT_TYPES,
    DEFAULT_BUCKET,
    DEFAULT_URL_TTL_S,
    EXTENSIONS,
    MAX_OBJECT_BYTES,
    ChecksumMismatch,
    InvalidKey,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectPage,
    ObjectTooLarge,
    SignedUrl,
    Storage,
    StorageError,
    content_disposition,
    content_type_of,
    download_name,
    validate_key,
    validate_prefix,
)
from tvms.storage.local import LocalStorage
from tvms.storage.routes import storage_routes

if TYPE_CHECKING:
    from tvms.config import Config

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_BUCKET",
    "DEFAULT_URL_TTL_S",
    "EXTENSIONS",
    "MAX_OBJECT_BYTES",
    "ChecksumMismatch",
    "InvalidKey",
    "LocalStorage",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectPage",
    "ObjectTooLarge",
    "SignedUrl",
    "Storage",
    "StorageError",
    "content_disposition",
    "content_type_of",
    "download_name",
    "open_storage",
    "storage_routes",
    "validate_key",
    "validate_prefix",
]


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def open_storage(
    url: str, *, config: Config | None = None, on_error: Callable[[str], None] | None = None
) -> Storage:
    """The backend for `url`. With `config`, the local URL-signing key is derived from
    `TVMS_SECRET_KEY` when set, else kept in `<data dir>/storage.key`. `on_error(operation)`
    is told of each failure of the store itself (the storage errors metric)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme == "file":
        if config is not None and config.secret_key:
            key, key_file = signing.key_from_secret(config.secret_key), None
        else:
            key, key_file = None, (config.data_dir / signing.KEY_FILE if config is not None else None)
        return LocalStorage(
            Path(parts.netloc + parts.path),
            signing_key=key,
            key_file=key_file,
            public_url=_one(query, "public_url") or "",
            bucket=_one(query, "bucket") or DEFAULT_BUCKET,
            on_error=on_error,
        )
    if parts.scheme == "s3":
        from tvms.storage.s3 import S3Storage  # aiobotocore is only imported when used

        return S3Storage(
            parts.netloc,
            endpoint=_one(query, "endpoint"),
            region=_one(query, "region") or "us-east-1",
            on_error=on_error,
        )
    raise StorageError(f"unsupported storage URL scheme {parts.scheme!r} (use file:// or s3://)")
