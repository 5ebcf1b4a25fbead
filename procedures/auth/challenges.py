"""Sign-in challenges: the short-lived, single-use tickets between the steps of a sign-in.

When a correct password is not enough (a second factor is due, the password has expired, MFA
enrolment is required), `auth.login` answers PRECONDITION_FAILED with `data.reason` naming the
step and `data.challenge`, a random ticket for the procedure that completes that step. A
challenge is good for one step, for `CHALLENGE_TTL_MS`, for `MAX_ATTEMPTS` wrong answers, and
only while the user's `token_version` is unchanged (a password change, logout-everywhere or an
ADMIN MFA reset ends it). The database keeps only its SHA-256, so it is valid in every process.
A challenge is never a session: no other procedure accepts it, and bearer tokens are not
challenges.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from tvms.clock import iso_ms
from tvms.db import Transaction
from tvms.rpc import Context, ErrorCode, RpcError

Step = Literal["MFA_REQUIRED", "PASSWORD_EXPIRED", "MFA_ENROLMENT_REQUIRED"]
STEPS: tuple[Step, ...] = ("MFA_REQUIRED", "PASSWORD_EXPIRED", "MFA_ENROLMENT_REQUIRED")
"""In the order a sign-in meets them."""

CHALLENGE_TTL_MS = 5 * 60_000
MAX_ATTEMPTS = 5
INVALID_CHALLENGE = "Invalid or expired sign-in challenge; sign in again"
MESSAGES: dict[Step, str] = {
    "MFA_REQUIRED": "A second factor is required: send a code to auth.verifyMfa",
    "PASSWORD_EXPIRED": "The password has expired: set a new one with auth.changeExpiredPassword",
    "MFA_ENROLMENT_REQUIRED": (
        "Multi-factor sign-in is required: enrol with auth.enrolMfa, then auth.confirmMfaEnrolment"
    ),
}
_PREFIX = "tvmsc_"


def _digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def step_error(step: Step, **data: str) -> RpcError:
    """The typed answer for a pending step: PRECONDITION_FAILED with `data.reason`."""
    return RpcError(ErrorCode.PRECONDITION_FAILED, MESSAGES[step], reason=step, **data)


async def open_challenge(ctx: Context, user_id: str, token_version: int, step: Step) -> RpcError:
    """Store a new challenge for `step`; returns the error that hands it to the client."""
    challenge = _PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock.now_ms()
    expires = now + CHALLENGE_TTL_MS
    async with ctx.db.transaction() as tx:
        await tx.execute("DELETE FROM signin_challenges WHERE expires_at <= :now", {"now": now})
        await tx.execute(
            "INSERT INTO signin_challenges (id, user_id, step, token_version, attempts, expires_at)"
            " VALUES (:id, :user_id, :step, :version, 0, :expires)",
            {
                "id": _digest(challenge),
                "user_id": user_id,
                "step": step,
                "version": token_version,
                "expires": expires,
            },
        )
    return step_error(step, challenge=challenge, challengeExpiresAt=iso_ms(expires))


def for_update(ctx: Context, tables: str) -> str:
    """The row-lock clause for a SELECT in a transaction (SQLite's BEGIN IMMEDIATE needs none)."""
    return f" FOR UPDATE OF {tables}" if ctx.db.engine == "postgresql" else ""


async def find_challenge(ctx: Context, tx: Transaction, challenge: str, step: Step) -> str:
    """The user id of a valid challenge for `step`, locked for the rest of `tx`.

    UNAUTHORIZED, with one message for every reason, when it is unknown, for another step,
    expired, used up or stale.
    """
    row = await tx.fetchrow(
        "SELECT c.user_id, c.step, c.token_version, c.attempts, c.expires_at,"
        " u.token_version AS current_version, u.disabled"
        " FROM signin_challenges c JOIN users u ON u.id = c.user_id WHERE c.id = :id" + for_update(ctx, "c"),
        {"id": _digest(challenge)},
    )
    now_ms = ctx.clock.now_ms()
    if (
        row is None
        or row["step"] != step
        or int(row["expires_at"]) <= now_ms
        or int(row["attempts"]) >= MAX_ATTEMPTS
        or int(row["token_version"]) != int(row["current_version"])
        or bool(row["disabled"])
    ):
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_CHALLENGE)
    return str(row["user_id"])


async def challenge_failed(tx: Transaction, challenge: str) -> None:
    """One wrong answer to this challenge (it dies after `MAX_ATTEMPTS`)."""
    await tx.execute(
        "UPDATE signin_challenges SET attempts = attempts + 1 WHERE id = :id", {"id": _digest(challenge)}
    )


async def close_challenge(tx: Transaction, challenge: str) -> None:
    """The step is done: the challenge cannot be used again."""
    await tx.execute("DELETE FROM signin_challenges WHERE id = :id", {"id": _digest(challenge)})
