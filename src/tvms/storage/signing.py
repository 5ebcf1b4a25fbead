"""HMAC signatures for the local backend's download and upload URLs.

The key is derived from `TVMS_SECRET_KEY` when it is set (so every instance of a deployment
agrees), else read from `<data dir>/storage.key`, which the first process to need it creates
(32 random bytes, mode 0600). It is deliberately not the JWT secret: a leaked URL key must not
let anyone mint sessions, and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "storage.key"
_CONTEXT = b"tvms storage URL signing v1"


def key_from_secret(secret: str) -> bytes:
    """A URL-signing key bound to this purpose, derived from the deployment's secret."""
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def key_from_file(path: Path) -> bytes:
    """The key stored at `path`, created (0600, atomically) if no process made it yet."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, secrets.token_hex(32).encode() + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)  # fails if another process won the race: then use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path.name} does not hold a hex key") from None
    if len(key) < 32:
        raise ValueError(f"{path.name} holds a key shorter than 32 bytes")
    return key


def sign(key: bytes, *parts: str) -> str:
    """Hex HMAC-SHA256 over the parts (newline-joined: no part contains a newline)."""
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(key, *parts), signature)
