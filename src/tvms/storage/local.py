"""Local files under the data directory (the default backend).

Objects live at `<root>/<key>`; writes go to a hidden temporary file in the same directory and
are renamed into place after fsync, so a reader never sees half an object and a crash leaves no
torn file under a real key. Signed URLs point at routes of this app (`tvms.storage.routes`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import quote, urlencode

import anyio.to_thread

from tvms.storage import signing
from tvms.storage.base import (
    DEFAULT_BUCKET,
    DEFAULT_URL_TTL_S,
    MAX_OBJECT_BYTES,
    ChecksumMismatch,
    InvalidKey,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectPage,
    ObjectTooLarge,
    SignedUrl,
    StorageError,
    check_sha256,
    check_ttl,
    check_upload,
    content_type_of,
    decode_cursor,
    download_name,
    encode_cursor,
    validate_key,
    validate_prefix,
)

ROUTE_PREFIX = "/storage/objects/"
_CHUNK = 1024 * 1024


T = TypeVar("T")


class SignatureRefused(StorageError):
    """A signed URL that is expired, tampered with or for another method."""


class LocalStorage:
    name = "local"

    def __init__(
        self,
        root: Path,
        *,
        signing_key: bytes | None = None,
        key_file: Path | None = None,
        public_url: str = "",
        bucket: str = DEFAULT_BUCKET,
        now: Callable[[], float] = time.time,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """`signing_key`, else the key in `key_file` (default `<root>/../storage.key`).

        `on_error(operation)` is told of every failure of the store itself (an I/O error, the
        directory not writable), not of a missing object or a refused key; `operation` is the
        `Storage` method's name.

        `public_url` (scheme://host[:port]) makes signed URLs absolute; without it they are
        root-relative (`/storage/objects/...`), to be resolved against the API's own address.
        """
        self.root = root
        self._key = signing_key
        self._key_file = key_file or root.parent / signing.KEY_FILE
        self.public_url = public_url.rstrip("/")
        self.bucket = bucket
        self._now = now
        self._on_error = on_error

    # -- helpers -------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _signing_key(self) -> bytes:
        if self._key is None:
            self._key = signing.key_from_file(self._key_file)
        return self._key

    def _info(self, key: str, path: Path) -> ObjectInfo:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound("no such object") from None
        if not path.is_file():
            raise ObjectNotFound("no such object")
        return ObjectInfo(key, st.st_size, content_type_of(key), st.st_mtime_ns // 1_000_000)

    async def _run(self, operation: str, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` on a worker thread; a failure of the store is reported to `on_error`."""
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except OSError:
            self._failed(operation)
            raise
        except StorageError as exc:
            if type(exc) is StorageError:  # the subclasses are the caller's mistakes
                self._failed(operation)
            raise

    def _failed(self, operation: str) -> None:
        if self._on_error is not None:
            self._on_error(operation)

    # -- the interface ---------------------------------------------------------------------
    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise StorageError("storage directory is not writable")

        await self._run("check", probe)

    async def put(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        check_upload(key, content_type, len(data))
        path = self._path(key)

        def write() -> ObjectInfo:
            with self._temporary(path) as (handle, temporary):
                handle.write(data)
                self._commit(handle, temporary, path)
            return self._info(key, path)

        return await self._run("put", write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)

        def read() -> bytes:
            try:
                return path.read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound("no such object") from None

        return await self._run("get", read)

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        return await self._run("stat", self._info, key, path)

    async def sha256(self, key: str) -> tuple[int, str]:
        path = self._path(key)

        def digest() -> tuple[int, str]:
            hasher, size = hashlib.sha256(), 0
            try:
                with path.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        hasher.update(chunk)
                        size += len(chunk)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound("no such object") from None
            return size, hasher.hexdigest()

        return await self._run("sha256", digest)

    async def delete(self, key: str) -> bool:
        path = self._path(key)

        def remove() -> bool:
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return False
            parent = path.parent
            while parent != self.root:  # tidy empty folders; a concurrent writer may refill one
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
            return True

        return await self._run("delete", remove)

    async def list(self, prefix: str = "", cursor: str | None = None, limit: int = 1000) -> ObjectPage:
        validate_prefix(prefix)
        after = decode_cursor(cursor) if cursor else ""
        limit = max(1, min(limit, 1000))

        def scan() -> ObjectPage:
            folder = prefix.rpartition("/")[0]
            base = self.root / folder if folder else self.root
            keys: list[str] = []
            for directory, subdirs, files in os.walk(base):
                subdirs[:] = [name for name in subdirs if not name.startswith(".")]
                relative = Path(directory).relative_to(self.root).as_posix()
                stem = "" if relative == "." else relative + "/"
                for name in files:
                    key = stem + name
                    if name.startswith(".") or not key.startswith(prefix) or key <= after:
                        continue
                    keys.append(key)
            keys.sort()
            items = []
            for key in keys[: limit + 1]:
                try:
                    items.append(self._info(key, self.root / key))
                except (ObjectNotFound, InvalidKey):  # deleted meanwhile, or a stray file
                    continue
            more = len(items) > limit
            items = items[:limit]
            return ObjectPage(items, encode_cursor(items[-1].key) if more else None)

        return await self._run("list", scan)

    async def presign_get(
        self, key: str, expires_in_s: int = DEFAULT_URL_TTL_S, *, filename: str | None = None
    ) -> SignedUrl:
        validate_key(key)
        expires = int(self._now()) + check_ttl(expires_in_s)
        # The file name is signed too: a link cannot be edited to serve the object under another.
        name = () if filename is None else (download_name(filename),)
        signature = signing.sign(self._signing_key(), "GET", key, str(expires), *name)
        fields: dict[str, str | int] = {"expires": expires}
        if name:
            fields["filename"] = name[0]
        query = urlencode({**fields, "signature": signature})
        return SignedUrl(self._url(key, query), expires * 1000, "GET", {})

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
        expires = int(self._now()) + check_ttl(expires_in_s)
        digest = sha256 or ""  # signed even when empty, so it cannot be added or dropped later
        signature = signing.sign(
            self._signing_key(), "PUT", key, str(expires), content_type, str(size), digest
        )
        fields: dict[str, str | int] = {"expires": expires, "size": size}
        if sha256:
            fields["sha256"] = sha256
        query = urlencode({**fields, "signature": signature})
        return SignedUrl(self._url(key, query), expires * 1000, "PUT", {"Content-Type": content_type})

    async def close(self) -> None:
        return None

    # -- used by the signed-URL routes ----------------------------------------------------------
    def verify(
        self,
        method: str,
        key: str,
        expires: str,
        signature: str,
        size: str = "",
        sha256: str = "",
        filename: str | None = None,
    ) -> None:
        """Raise SignatureRefused unless the URL was signed by us, for this method, and is live."""
        validate_key(key)
        if not expires.isdigit() or int(expires) < self._now():
            raise SignatureRefused("the link has expired")
        if method == "GET":
            parts: tuple[str, ...] = ("GET", key, expires, *(() if filename is None else (filename,)))
        else:
            parts = ("PUT", key, expires, content_type_of(key), size, sha256)
        if not signing.verify(self._signing_key(), signature, *parts):
            raise SignatureRefused("the link is not valid")

    async def write_stream(
        self, key: str, chunks: AsyncIterator[bytes], size: int, sha256: str | None = None
    ) -> ObjectInfo:
        """Store a new object of exactly `size` bytes (and SHA-256 `sha256`, when given).

        ObjectTooLarge past `size`, ChecksumMismatch for other bytes, ObjectExists when the key
        is taken: a signed upload never replaces an object (nothing is kept on any refusal).
        """
        check_upload(key, content_type_of(key), size)
        check_sha256(sha256)
        path = self._path(key)
        if path.exists():  # refuse before reading the body; _commit checks again atomically
            raise ObjectExists("an object already exists under this key")
        with self._temporary(path) as (handle, temporary):
            received, hasher = 0, hashlib.sha256()
            async for chunk in chunks:
                received += len(chunk)
                if received > size or received > MAX_OBJECT_BYTES:
                    raise ObjectTooLarge("the upload is larger than the link allows")
                hasher.update(chunk)
                handle.write(chunk)  # page-cache writes: the fsync below is the slow part
            if received != size:
                raise StorageError("the upload is shorter than the link requires")
            if sha256 is not None and hasher.hexdigest() != sha256:
                raise ChecksumMismatch("the upload does not have the SHA-256 the link was signed for")
            await anyio.to_thread.run_sync(self._commit, handle, temporary, path, False)
        return await self.stat(key)

    def open_path(self, key: str) -> Path:
        """The file behind an existing object (for streaming it out)."""
        path = self._path(key)
        self._info(key, path)
        return path

    # -- internals -------------------------------------------------------------------------
    def _url(self, key: str, query: str) -> str:
        return f"{self.public_url}{ROUTE_PREFIX}{quote(key)}?{query}"

    @staticmethod
    @contextmanager
    def _temporary(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
        """A new hidden file beside `target`, removed on exit unless `_commit` renamed it."""
        temporary = target.parent / f".tmp-{secrets.token_hex(8)}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = temporary.open("xb")
        except (FileExistsError, NotADirectoryError):
            raise StorageError("the key collides with an existing object") from None
        try:
            with handle:
                yield handle, temporary
        finally:
            temporary.unlink(missing_ok=True)

    @staticmethod
    def _commit(handle: BinaryIO, temporary: Path, path: Path, replace: bool = True) -> None:
        """Move the written file into place; with `replace=False` only if `path` is free.

        `os.link` fails atomically when the name exists (unlike a check then a rename, which two
        concurrent uploads could both pass); `_temporary` then removes the temporary name.
        """
        handle.flush()
        os.fsync(handle.fileno())
        try:
            if replace:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)
        except IsADirectoryError:
            raise StorageError("the key collides with an existing folder") from None
        except FileExistsError:
            raise ObjectExists("an object already exists under this key") from None
