"""Device API keys: issued with a sensor and by rotation, stored hashed, checked per request.

Format: `tvms_dk_<8 hex id>_<43 chars: base64url of 32 random bytes>`. The part before the secret
(`tvms_dk_<id>`) is the prefix shown in reads and used to find the stored row.

Why SHA-256 and not bcrypt: a password needs a slow hash because people choose guessable ones;
a device key carries 256 random bits, so nobody can brute-force it through any hash, and a fast
hash keeps the per-request check cheap (devices call many times a minute). The comparison of the
stored and computed digests is constant-time (`hmac.compare_digest`) all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from tvms.cache import Cache
from tvms.db import Transaction
from tvms.ids import new_id
from tvms.rpc import Credentials, ErrorCode, Principal, RpcError, Services

KEY_PREFIX = "tvms_dk_"
_KEY = re.compile(r"(tvms_dk_[0-9a-f]{8})_[A-Za-z0-9_-]{43}")
CACHE_PREFIX = "device-key:"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = f"{KEY_PREFIX}{secrets.token_hex(4)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


async def issue_key(tx: Transaction, sensor_id: str, now_ms: int) -> tuple[str, str]:
    """Revoke the sensor's live key (if any) and store a new one; returns (key, prefix)."""
    await revoke_keys(tx, sensor_id, now_ms)
    key, prefix = new_key()
    await tx.execute(
        "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at) "
        "VALUES (:id, :sensor_id, :prefix, :key_hash, :now)",
        {"id": new_id(), "sensor_id": sensor_id, "prefix": prefix, "key_hash": hash_key(key), "now": now_ms},
    )
    return key, prefix


async def revoke_keys(tx: Transaction, sensor_id: str, now_ms: int) -> None:
    await tx.execute(
        "UPDATE device_keys SET revoked_at = :now WHERE sensor_id = :sensor_id AND revoked_at IS NULL",
        {"sensor_id": sensor_id, "now": now_ms},
    )


def forget_cached_keys(cache: Cache) -> None:
    """Drop every cached key lookup of this process (after a revocation or a sensor change).

    Other processes keep theirs for at most the cache TTL (5 s).
    """
    cache.invalidate(CACHE_PREFIX)


async def resolve_api_key(credentials: Credentials, services: Services) -> Principal | None:
    """The device presenting `X-API-Key`, or None without one; UNAUTHORIZED for a bad key.

    Revoked keys and keys of deleted sensors are refused. Successful lookups are cached briefly.
    """
    key = credentials.api_key
    if key is None:
        return None
    match = _KEY.fullmatch(key)
    if match is None:
        raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid API key")
    digest = hash_key(key)

    async def load() -> Principal:
        rows = await services.db.fetch(
            "SELECT k.key_hash, s.id, s.device_id, s.type, s.parent_sensor_id "
            "FROM device_keys k JOIN sensors s ON s.id = k.sensor_id "
            "WHERE k.prefix = :prefix AND k.revoked_at IS NULL AND s.deleted_at IS NULL",
            {"prefix": match.group(1)},
        )
        for row in rows:
            if hmac.compare_digest(row["key_hash"], digest):
                return Principal(
                    "device",
                    row["id"],
                    None,
                    claims={
                        "deviceId": row["device_id"],
                        "type": row["type"],
                        "parentSensorId": row["parent_sensor_id"],
                    },
                )
        raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid API key")

    return await services.cache.get_or_load(CACHE_PREFIX + digest, load)
