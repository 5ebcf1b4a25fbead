"""Login lockout, counted in the database so it holds across processes.

Attempts are counted per (lower-case) e-mail address, known or not, so a locked answer reveals
nothing about which accounts exist. Before its (slow) bcrypt check an attempt is registered as
`pending`; it is refused when `failures + pending` would exceed `security.maxLoginAttempts`, so
concurrent guesses can never get more than that many checks per lockout period. When a check
fails, `failures` grows and the address locks at the limit for `security.lockoutDuration`
minutes; a success resets `failures`. The count also restarts once a lock has expired or the
last failure is older than the lockout duration. A `pending` count left behind by a crashed
process is forgotten after a minute.
"""

from __future__ import annotations

import math

from procedures.settings.store import get_value
from tvms.clock import iso_ms
from tvms.rpc import Context, ErrorCode, RpcError

PENDING_STALE_MS = 60_000  # a bcrypt check never takes this long; older `pending` is a crash

_EXPIRED = "(login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= :now)"
_STALE = "(login_attempts.locked_until IS NULL AND login_attempts.updated_at <= :stale)"
_RESERVE = (
    "INSERT INTO login_attempts (email, failures, pending, locked_until, updated_at)"
    " VALUES (:email, 0, 1, NULL, :now)"
    " ON CONFLICT (email) DO UPDATE SET"
    f" failures = CASE WHEN {_EXPIRED} OR {_STALE} THEN 0 ELSE login_attempts.failures END,"
    " pending = CASE WHEN login_attempts.updated_at <= :pending_stale THEN 1"
    " ELSE login_attempts.pending + 1 END,"
    f" locked_until = CASE WHEN {_EXPIRED} THEN NULL ELSE login_attempts.locked_until END,"
    " updated_at = :now"
    " RETURNING failures, pending, locked_until"
)
_RELEASE = "pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END"


class Attempt:
    """A registered login attempt and the limits in force when it was made."""

    __slots__ = ("email", "lock_ms", "maximum")

    def __init__(self, email: str, maximum: int, lock_ms: int) -> None:
        self.email = email
        self.maximum = maximum
        self.lock_ms = lock_ms


def locked_error(now_ms: int, until_ms: int) -> RpcError:
    return RpcError(
        ErrorCode.TOO_MANY_REQUESTS,
        "Too many failed login attempts; try again later",
        retryAfter=max(1, math.ceil((until_ms - now_ms) / 1000)),
        lockedUntil=iso_ms(until_ms),
    )


async def reserve_attempt(ctx: Context, email: str) -> Attempt:
    """Register one attempt for `email`; raise TOO_MANY_REQUESTS (retry time in data) when locked."""
    now = ctx.clock.now_ms()
    maximum = int(await get_value(ctx, "security.maxLoginAttempts"))
    lock_ms = int(await get_value(ctx, "security.lockoutDuration")) * 60_000
    refusal: RpcError | None = None
    async with ctx.db.transaction() as tx:
        row = await tx.fetchrow(
            _RESERVE,
            {"email": email, "now": now, "stale": now - lock_ms, "pending_stale": now - PENDING_STALE_MS},
        )
        if row is None:  # pragma: no cover - an upsert with RETURNING always returns its row
            raise RuntimeError("login_attempts upsert returned nothing")
        locked_until = row["locked_until"]
        if locked_until is not None and int(locked_until) > now:
            refusal = locked_error(now, int(locked_until))
        elif int(row["failures"]) + int(row["pending"]) > maximum:
            # Other checks for this address are still running and could use up the limit.
            refusal = RpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                "Too many login attempts in progress; try again shortly",
                retryAfter=1,
            )
        if refusal is not None:
            await tx.execute(f"UPDATE login_attempts SET {_RELEASE} WHERE email = :email", {"email": email})
    if refusal is not None:
        raise refusal
    return Attempt(email, maximum, lock_ms)


async def attempt_failed(ctx: Context, attempt: Attempt) -> None:
    """The password was wrong: count it, and lock the address when the limit is reached."""
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        failures = await tx.fetchval(
            f"UPDATE login_attempts SET failures = failures + 1, {_RELEASE},"
            " locked_until = CASE WHEN failures + 1 >= :maximum THEN :until ELSE locked_until END,"
            " updated_at = :now WHERE email = :email RETURNING failures",
            {"maximum": attempt.maximum, "until": now + attempt.lock_ms, "now": now, "email": attempt.email},
        )
    ctx.services.metrics.login_failed("password")
    # The failure that reaches the limit locks the address (concurrent ones count on past it).
    if failures is not None and int(failures) == attempt.maximum:
        ctx.services.metrics.locked_out("password")


async def attempt_succeeded(ctx: Context, attempt: Attempt) -> None:
    """A success resets the address's failures (and prunes long-forgotten counters)."""
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        await tx.execute(
            f"UPDATE login_attempts SET failures = 0, {_RELEASE}, updated_at = :now WHERE email = :email",
            {"now": now, "email": attempt.email},
        )
        await tx.execute(
            "DELETE FROM login_attempts WHERE (email = :email AND failures = 0 AND pending = 0)"
            " OR (updated_at < :cutoff AND pending = 0 AND (locked_until IS NULL OR locked_until < :now))",
            {"email": attempt.email, "cutoff": now - max(attempt.lock_ms, 86_400_000), "now": now},
        )


async def clear_attempts(ctx: Context, email: str) -> None:
    """Unlock an address (an administrator reset the password)."""
    await ctx.db.execute(
        "UPDATE login_attempts SET failures = 0, locked_until = NULL WHERE email = :email", {"email": email}
    )
