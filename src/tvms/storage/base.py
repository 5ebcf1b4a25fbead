"""The storage interface shared by the backends: keys, content types, limits, errors.

A key is a relative, slash-separated path such as `events/2024/11/<id>.jpg`. The content type
of an object follows from its key's extension (one table, below), so both backends agree on it
without keeping metadata of their own, and an upload cannot smuggle, say, HTML under `.jpg`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Protocol

MAX_OBJECT_BYTES = 100 * 1024 * 1024
"""Documented limit: 100 MB per file."""

MAX_KEY_LENGTH = 512
DEFAULT_URL_TTL_S = 15 * 60
DEFAULT_BUCKET = "smart-city-storage"
"""The name `storage.getStats` gives the local store unless `?bucket=` names it (S3: the bucket)."""
MAX_URL_TTL_S = 7 * 24 * 3600

CONTENT_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "csv": "text/csv",
    "json": "application/json",
    "mp4": "video/mp4",  # evidence video clips (EvidenceKind VIDEO_CLIP)
}
"""Extension → content type. Documented: JPEG, PNG, WebP, GIF images; PDF, CSV, JSON documents."""

EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/json": "json",
    "video/mp4": "mp4",
}
"""Content type → the extension used when the server names an object."""

# Used with fullmatch: `$` would also accept a trailing newline ("sub\n").
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._=-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """The backend failed or refused; the message is safe to show (no paths, no secrets)."""


class InvalidKey(StorageError):
    """The key is not a safe relative object key."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class ObjectTooLarge(StorageError):
    """Over `MAX_OBJECT_BYTES` (or over the size an upload URL allows)."""


class ObjectExists(StorageError):
    """A signed upload never replaces an object: there already is one under that key."""


class ChecksumMismatch(StorageError):
    """The uploaded bytes do not have the SHA-256 the upload URL was signed for."""


def validate_key(key: str) -> str:
    """Return `key` when it is a safe object key, else raise InvalidKey.

    Refused: empty or over 512 characters, absolute paths, backslashes, `.`/`..` or empty
    segments, segments starting with a dot (hidden files: the local backend keeps its
    temporary files there), control or non-ASCII characters, and unknown extensions.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("the key must be 1 to 512 characters")
    if key.startswith("/") or "\\" in key:
        raise InvalidKey("the key must be a relative path with / separators")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(
                "each part of the key must be letters, digits, '.', '_', '-' or '=' "
                "and must not start with '.' or '-' (no '..', no empty parts)"
            )
    content_type_of(key)
    return key


def content_type_of(key: str) -> str:
    """The content type for a key's extension; InvalidKey for an extension we do not store."""
    _, dot, extension = key.rpartition("/")[2].rpartition(".")
    found = CONTENT_TYPES.get(extension.lower()) if dot else None
    if found is None:
        raise InvalidKey("the key must end in .jpg, .jpeg, .png, .webp, .gif, .pdf, .csv, .json or .mp4")
    return found


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or key-like (the last part may be partial or end with '/')."""
    if prefix == "":
        return prefix
    if len(prefix) > MAX_KEY_LENGTH or prefix.startswith("/") or "\\" in prefix:
        raise InvalidKey("the prefix must be a relative path with / separators")
    parts = prefix.split("/")
    for segment in parts[:-1]:
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey("the prefix contains an invalid part")
    if parts[-1] and not _SEGMENT.fullmatch(parts[-1]):
        raise InvalidKey("the prefix contains an invalid part")
    return prefix


def encode_cursor(last_key: str) -> str:
    """An opaque listing cursor: the last key returned."""
    return base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key after which a listing continues; InvalidKey for a cursor we did not issue."""
    try:
        key = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidKey("invalid cursor") from None
    if not key:
        raise InvalidKey("invalid cursor")
    validate_prefix(key)
    return key


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    last_modified_ms: int


@dataclass(frozen=True, slots=True)
class ObjectPage:
    items: list[ObjectInfo]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SignedUrl:
    url: str
    expires_at_ms: int
    method: str
    headers: dict[str, str]
    """Headers the client must send with the request (a PUT's Content-Type)."""


class Storage(Protocol):
    """What every backend offers. Keys are validated by the backend on every call."""

    name: str
    bucket: str
    """The bucket's name as configured (S3), or as the local store is announced."""

    async def check(self) -> None:
        """Raise StorageError when the backend cannot be used."""

    async def put(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        """Store `data` under `key` (replacing any object there)."""

    async def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound when absent."""

    async def stat(self, key: str) -> ObjectInfo:
        """Size, type and time of the object; ObjectNotFound when absent."""

    async def sha256(self, key: str) -> tuple[int, str]:
        """(size, hex SHA-256) of the object, read as a stream; ObjectNotFound when absent."""

    async def delete(self, key: str) -> bool:
        """Remove the object; False when there was none."""

    async def list(self, prefix: str = "", cursor: str | None = None, limit: int = 1000) -> ObjectPage:
        """Objects whose key starts with `prefix`, in key order, `limit` at a time."""

    async def presign_get(
        self, key: str, expires_in_s: int = DEFAULT_URL_TTL_S, *, filename: str | None = None
    ) -> SignedUrl:
        """A URL that lets anyone holding it download the object until it expires.

        With `filename` (made safe by `download_name`), the download is sent with
        `Content-Disposition: attachment` under that name.
        """

    async def presign_put(
        self,
        key: str,
        content_type: str,
        size: int,
        expires_in_s: int = DEFAULT_URL_TTL_S,
        *,
        sha256: str | None = None,
    ) -> SignedUrl:
        """A URL that lets anyone holding it upload exactly this object until it expires.

        The upload never replaces an existing object (so a URL still alive after its object was
        verified cannot swap the bytes), and with `sha256` (lowercase hex) the store refuses
        bytes with any other digest. Send every header of `SignedUrl.headers` with the PUT.
        """

    async def close(self) -> None:
        """Release connections (called once at shutdown)."""


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def download_name(name: str) -> str:
    """`name` reduced to a safe file name: ASCII letters, digits, `_` and `-`, one `.` before
    its extension (kept: it says what the file is); at most 120 characters."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = _UNSAFE_NAME.sub("", extension)[:10]
    stem = _UNSAFE_NAME.sub("_", stem).strip("_-") or "download"
    if not extension:
        return stem[:120]
    return f"{stem[: 119 - len(extension)]}.{extension}"


def content_disposition(filename: str) -> str:
    """The `Content-Disposition` value that saves a download as `filename`."""
    return f'attachment; filename="{download_name(filename)}"'


def check_upload(key: str, content_type: str, size: int) -> None:
    """The rules every upload keeps: a valid key, its extension's type, at most 100 MB."""
    validate_key(key)
    if content_type_of(key) != content_type:
        raise InvalidKey(f"content type {content_type[:100]!r} does not match the key's extension")
    if size < 0 or size > MAX_OBJECT_BYTES:
        raise ObjectTooLarge("objects are limited to 100 MB")


def check_sha256(sha256: str | None) -> str | None:
    """`sha256` when it is None or 64 lowercase hex digits, else StorageError."""
    if sha256 is not None and not _SHA256_HEX.fullmatch(sha256):
        raise StorageError("sha256 must be 64 lowercase hex digits")
    return sha256


def check_ttl(expires_in_s: int) -> int:
    if not 1 <= expires_in_s <= MAX_URL_TTL_S:
        raise StorageError("a signed URL lives between 1 second and 7 days")
    return expires_in_s
