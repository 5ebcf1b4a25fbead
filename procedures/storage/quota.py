"""The storage quota (setting `storage.quotaBytes`) over stored files AND issued upload URLs.

Files arrive through signed URLs straight from the client, so checking only what is stored lets
many URLs, issued before anything is uploaded, together exceed the quota. Every issued URL
therefore reserves its size (`upload_reservations`): a new URL is issued only while stored
usage + live reservations + its size fit. A reservation ends when its URL expires, or when its
upload is complete (seen stored, or verified by `events.completeEvidenceUpload`) and
COUNTED_AFTER_MS has passed, by which time the usage walk (`usage.py`) includes the file.
Decisions take the single `upload_quota_lock` row first, so processes decide one at a time.
"""

from __future__ import annotations

from procedures.settings.store import get_value
from procedures.state import state_of
from tvms.rpc import Context, ErrorCode, RpcError
from tvms.storage import ObjectNotFound
from tvms.storage.base import DEFAULT_URL_TTL_S

COUNTED_AFTER_MS = 60_000  # far longer than a usage walk result is reused for (5 s, or ten times the walk)
CHECKED_PER_CALL = 50  # open reservations looked up in the store per call, oldest first


async def _mark_completed(ctx: Context, now: int) -> None:
    """Reservations whose file is now stored are complete (they stop counting a minute later)."""
    rows = await ctx.db.fetch(
        "SELECT object_key FROM upload_reservations WHERE completed_at IS NULL AND expires_at > :now"
        " ORDER BY created_at LIMIT :limit",
        {"now": now, "limit": CHECKED_PER_CALL},
    )
    for row in rows:
        try:
            await ctx.storage.stat(row["object_key"])
        except ObjectNotFound:
            continue
        await complete(ctx, row["object_key"])


async def reserve(ctx: Context, key: str, size: int) -> None:
    """Reserve `size` bytes for an upload URL to `key` for as long as such a URL lives, or raise
    PAYLOAD_TOO_LARGE when stored files, live reservations and this upload exceed the quota."""
    now = ctx.clock.now_ms()
    expires_at_ms = now + DEFAULT_URL_TTL_S * 1000
    await _mark_completed(ctx, now)
    quota = int(await get_value(ctx, "storage.quotaBytes"))
    used = sum(size for size, _, _ in (await state_of(ctx.services).usage.get()).values())
    async with ctx.db.transaction() as tx:
        await tx.execute("UPDATE upload_quota_lock SET decided_at = :now WHERE id = 1", {"now": now})
        await tx.execute(
            "DELETE FROM upload_reservations WHERE expires_at <= :now OR completed_at <= :counted",
            {"now": now, "counted": now - COUNTED_AFTER_MS},
        )
        reserved = int(
            await tx.fetchval(
                "SELECT COALESCE(SUM(size), 0) FROM upload_reservations WHERE object_key <> :key",
                {"key": key},
            )
            or 0
        )
        if used + reserved + size > quota:
            raise RpcError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                "The storage quota would be exceeded (stored files and unexpired upload URLs count)",
                quotaBytes=quota,
                usedBytes=used,
                reservedBytes=reserved,
            )
        await tx.execute(
            "INSERT INTO upload_reservations (object_key, size, expires_at, completed_at, created_at)"
            " VALUES (:key, :size, :expires, NULL, :now)"
            " ON CONFLICT (object_key) DO UPDATE SET size = excluded.size, expires_at = excluded.expires_at,"
            " completed_at = NULL, created_at = excluded.created_at",
            {"key": key, "size": size, "expires": expires_at_ms, "now": now},
        )


async def complete(ctx: Context, key: str) -> None:
    """The upload to `key` is stored: its reservation ends once usage includes the file."""
    await ctx.db.execute(
        "UPDATE upload_reservations SET completed_at = :now WHERE object_key = :key AND completed_at IS NULL",
        {"now": ctx.clock.now_ms(), "key": key},
    )
    state_of(ctx.services).usage.forget()


async def release(ctx: Context, key: str) -> None:
    """No upload will come to `key` (its announcement was replaced): drop the reservation."""
    await ctx.db.execute("DELETE FROM upload_reservations WHERE object_key = :key", {"key": key})
