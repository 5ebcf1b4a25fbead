"""Finishing a sign-in: the steps a correct password may still need, then the session.

In order: the second factor (when the user has one), a new password (when it is older than
`security.passwordExpiry` days), MFA enrolment (when `security.mfaEnabled` is on and the user
has no factor). Each step is answered PRECONDITION_FAILED with `data.reason` and a challenge
(see `challenges`); the procedure completing a step continues with the steps after it, and
the last one returns the session.
"""

from __future__ import annotations

from procedures.auth.challenges import STEPS, Step, open_challenge, step_error
from procedures.auth.fields import Role
from procedures.auth.mfa import mfa_enabled
from procedures.auth.sessions import issue_token
from procedures.schemas import Output
from procedures.settings.store import get_value
from tvms.rpc import Context, ErrorCode, RpcError

DAY_MS = 86_400_000


class LoginUser(Output):
    id: str
    email: str
    first_name: str
    last_name: str
    role: Role


class LoginResult(Output):
    token: str
    user: LoginUser


async def password_expired(ctx: Context, changed_at_ms: int) -> bool:
    """Whether a password set at `changed_at_ms` is older than `security.passwordExpiry` days."""
    days = int(await get_value(ctx, "security.passwordExpiry"))
    return days > 0 and changed_at_ms + days * DAY_MS <= ctx.clock.now_ms()


async def pending_step(ctx: Context, user_id: str, *, after: Step | None) -> Step | None:
    """The first step still due for the user, among those after `after` (None: all of them)."""
    changed_at = await ctx.db.fetchval(
        "SELECT password_changed_at FROM users WHERE id = :id", {"id": user_id}
    )
    if changed_at is None:
        raise RpcError(ErrorCode.UNAUTHORIZED, "Invalid or expired sign-in challenge; sign in again")
    remaining = STEPS[STEPS.index(after) + 1 :] if after is not None else STEPS
    for step in remaining:
        if step == "MFA_REQUIRED" and await mfa_enabled(ctx, user_id):
            return step
        if step == "PASSWORD_EXPIRED" and await password_expired(ctx, int(changed_at)):
            return step
        if (
            step == "MFA_ENROLMENT_REQUIRED"
            and bool(await get_value(ctx, "security.mfaEnabled"))
            and not await mfa_enabled(ctx, user_id)
        ):
            return step
    return None


async def finish_signin(ctx: Context, user_id: str, *, after: Step | None) -> LoginResult:
    """The session, or the next step's challenge (raised) when one is still due."""
    step = await pending_step(ctx, user_id, after=after)
    if step is not None:
        version = await ctx.db.fetchval("SELECT token_version FROM users WHERE id = :id", {"id": user_id})
        raise await open_challenge(ctx, user_id, int(version or 0), step)
    await ctx.db.execute(
        "UPDATE users SET last_login_at = :now WHERE id = :id", {"id": user_id, "now": ctx.clock.now_ms()}
    )
    issued = await issue_token(ctx, user_id)
    claims = issued.claims
    return LoginResult(
        token=issued.token,
        user=LoginUser(
            id=claims.id,
            email=claims.email,
            first_name=claims.first_name,
            last_name=claims.last_name,
            role=claims.role,
        ),
    )


async def check_session_allowed(ctx: Context, user_id: str) -> None:
    """For extending a session (token refresh): refuse when a sign-in would stop at a step.

    Only the password and enrolment steps apply (a session already passed its second factor);
    the answer carries `data.reason` but no challenge: the user signs in again.
    """
    step = await pending_step(ctx, user_id, after="MFA_REQUIRED")
    if step is not None:
        raise step_error(step)
