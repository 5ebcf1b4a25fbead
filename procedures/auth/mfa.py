"""A user's TOTP second factor in the database: enrolment, codes, recovery codes, reset.

Every check of a code runs inside one transaction holding the user's `user_mfa` row, so
concurrent guesses are serialised: each wrong code is counted (across processes) before the
next is looked at, and the same code cannot be accepted twice. Wrong codes lock the factor
like wrong passwords lock an address (`security.maxLoginAttempts` failures lock it for
`security.lockoutDuration` minutes). Refusals are returned, not raised, so that the caller's
transaction commits the count before the caller raises them.
"""

from __future__ import annotations

import math

from procedures.auth.challenges import for_update
from procedures.settings.store import get_value
from procedures.state import state_of
from tvms.clock import iso_ms
from tvms.db import Transaction
from tvms.rpc import Context, ErrorCode, RpcError
from tvms.security.totp import (
    hash_recovery_code,
    is_totp_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    seal,
    unseal,
)

WRONG_CODE = "Invalid code"
ALREADY_ENABLED = "Multi-factor sign-in is already enabled; disable or reset it first"
NOT_STARTED = "Start enrolment first (auth.mfa.enrol, or auth.enrolMfa while signing in)"


def locked_error(now_ms: int, until_ms: int) -> RpcError:
    return RpcError(
        ErrorCode.TOO_MANY_REQUESTS,
        "Too many wrong codes; try again later",
        retryAfter=max(1, math.ceil((until_ms - now_ms) / 1000)),
        lockedUntil=iso_ms(until_ms),
    )


async def mfa_enabled(ctx: Context, user_id: str) -> bool:
    """True when the user has a confirmed second factor."""
    value = await ctx.db.fetchval("SELECT enabled FROM user_mfa WHERE user_id = :id", {"id": user_id})
    return bool(value)


async def check_code(
    ctx: Context, tx: Transaction, user_id: str, code: str, *, enrolled: bool, wrong: RpcError
) -> RpcError | None:
    """Accept `code` (a TOTP code, or once enrolled a recovery code) or count a failure.

    `enrolled`: whether the factor must be confirmed already (sign-in) or not yet (enrolment).
    Returns None when accepted, else the refusal: `wrong`, or TOO_MANY_REQUESTS when locked.
    """
    now = ctx.clock.now_ms()
    row = await tx.fetchrow(
        "SELECT secret, enabled, last_step, failures, locked_until, updated_at FROM user_mfa"
        " WHERE user_id = :id" + for_update(ctx, "user_mfa"),
        {"id": user_id},
    )
    if row is None or bool(row["enabled"]) != enrolled:
        return wrong
    lock_ms = int(await get_value(ctx, "security.lockoutDuration")) * 60_000
    locked_until = row["locked_until"]
    if locked_until is not None and int(locked_until) > now:
        return locked_error(now, int(locked_until))
    # An expired lock, or failures older than the lockout duration, start a fresh count.
    stale = locked_until is not None or int(row["updated_at"]) <= now - lock_ms
    failures = 0 if stale else int(row["failures"])
    accepted = False
    if is_totp_code(code):
        secret = unseal(state_of(ctx.services).secret_key, user_id, row["secret"])
        step = None if secret is None else matching_step(secret, code, now)
        # A step at or before the last one accepted is a replay (or an older code): refused.
        if step is not None and step > int(row["last_step"]):
            await tx.execute(
                "UPDATE user_mfa SET last_step = :step WHERE user_id = :id", {"step": step, "id": user_id}
            )
            accepted = True
    elif enrolled:
        used = await tx.execute(
            "UPDATE mfa_recovery_codes SET used_at = :now"
            " WHERE user_id = :id AND code_hash = :hash AND used_at IS NULL",
            {"now": now, "id": user_id, "hash": hash_recovery_code(code)},
        )
        accepted = used > 0
    if accepted:
        await tx.execute(
            "UPDATE user_mfa SET failures = 0, locked_until = NULL, updated_at = :now WHERE user_id = :id",
            {"now": now, "id": user_id},
        )
        return None
    failures += 1
    maximum = int(await get_value(ctx, "security.maxLoginAttempts"))
    until = now + lock_ms if failures >= maximum else None
    await tx.execute(
        "UPDATE user_mfa SET failures = :failures, locked_until = :until, updated_at = :now"
        " WHERE user_id = :id",
        {"failures": failures, "until": until, "now": now, "id": user_id},
    )
    return wrong if until is None else locked_error(now, until)


async def start_enrolment(ctx: Context, user_id: str) -> str:
    """A new, unconfirmed secret for the user (replacing an unconfirmed one); returns it.

    CONFLICT when a confirmed factor exists: its secret is never shown or replaced.
    """
    secret = new_secret()
    now = ctx.clock.now_ms()
    written = await ctx.db.execute(
        "INSERT INTO user_mfa (user_id, secret, enabled, last_step, failures, locked_until,"
        " created_at, updated_at) VALUES (:id, :secret, FALSE, 0, 0, NULL, :now, :now)"
        " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0,"
        " created_at = excluded.created_at WHERE user_mfa.enabled = FALSE",
        {"id": user_id, "secret": seal(state_of(ctx.services).secret_key, user_id, secret), "now": now},
    )
    if written == 0:
        raise RpcError(ErrorCode.CONFLICT, ALREADY_ENABLED)
    return secret


async def confirm_enrolment(ctx: Context, tx: Transaction, user_id: str, code: str) -> list[str] | RpcError:
    """Turn the unconfirmed secret on with its first code; returns fresh recovery codes."""
    state = await tx.fetchval("SELECT enabled FROM user_mfa WHERE user_id = :id", {"id": user_id})
    if state is None:
        return RpcError(ErrorCode.PRECONDITION_FAILED, NOT_STARTED)
    if bool(state):
        return RpcError(ErrorCode.CONFLICT, ALREADY_ENABLED)
    refusal = await check_code(
        ctx, tx, user_id, code, enrolled=False, wrong=RpcError(ErrorCode.FORBIDDEN, WRONG_CODE)
    )
    if refusal is not None:
        return refusal
    await tx.execute(
        "UPDATE user_mfa SET enabled = TRUE, updated_at = :now WHERE user_id = :id",
        {"now": ctx.clock.now_ms(), "id": user_id},
    )
    return await replace_recovery_codes(tx, user_id)


async def replace_recovery_codes(tx: Transaction, user_id: str) -> list[str]:
    """New recovery codes for the user (the old ones stop working); only their hashes are kept."""
    codes = new_recovery_codes()
    await tx.execute("DELETE FROM mfa_recovery_codes WHERE user_id = :id", {"id": user_id})
    await tx.executemany(
        "INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at) VALUES (:id, :hash, NULL)",
        [{"id": user_id, "hash": hash_recovery_code(code)} for code in codes],
    )
    return codes


async def remove_factor(tx: Transaction, user_id: str) -> bool:
    """Forget the user's factor and recovery codes; True when there was one."""
    await tx.execute("DELETE FROM mfa_recovery_codes WHERE user_id = :id", {"id": user_id})
    removed = await tx.execute("DELETE FROM user_mfa WHERE user_id = :id", {"id": user_id})
    return removed > 0


async def recovery_codes_left(ctx: Context, user_id: str) -> int:
    value = await ctx.db.fetchval(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = :id AND used_at IS NULL", {"id": user_id}
    )
    return int(value or 0)
