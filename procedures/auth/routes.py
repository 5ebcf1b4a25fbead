"""The `auth.*` procedures."""

from __future__ import annotations

from typing import Any

from procedures.audit.log import OK, record
from procedures.auth.fields import Email, Password, Role, normalize_email
from procedures.auth.lockout import attempt_failed, attempt_succeeded, reserve_attempt
from procedures.auth.policy import check_bcrypt_limits, check_new_password
from procedures.auth.sessions import INVALID_TOKEN, bump_token_version, forget_user, issue_token, revoke_jti
from procedures.auth.signin import LoginResult, check_session_allowed, finish_signin
from procedures.schemas import Input, IsoTime, Output
from tvms.clock import iso_ms
from tvms.rpc import PUBLIC, USER, Context, ErrorCode, Principal, Router, RpcError, invalid_params
from tvms.rpc.router import Example

router = Router("auth")

BAD_CREDENTIALS = "Invalid email or password"
ONE_LOGIN = "Only one auth.login is allowed per HTTP request; send further logins separately"

# The examples' user is the demo administrator of `tvms seed --demo`; tokens differ on every call.
_DEMO_USER = {
    "id": "admin-001",
    "email": "admin@itms.solutions",
    "firstName": "System",
    "lastName": "Administrator",
    "role": "ADMIN",
}
_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbi0wMDEiLCJyb2xlIjoiQURNSU4iLCJleHAiOjE3MzE3"
    "NTg0MDB9.J1tZqt03v5D690KD89Qt8qmnvRYpAThB6S-sTPrOsDc"
)


class LoginInput(Input):
    email: Email
    password: Password


class Me(Output):
    id: str
    email: str
    first_name: str
    last_name: str
    role: Role
    created_at: IsoTime
    updated_at: IsoTime


class TokenResult(Output):
    token: str
    expires_at: IsoTime


class LogoutInput(Input):
    everywhere: bool = False
    """Also end every other session of this user (all tokens issued so far)."""


class LogoutResult(Output):
    success: bool


class ChangePasswordInput(Input):
    current_password: Password
    new_password: Password


def _principal(ctx: Context) -> Principal:
    principal = ctx.principal
    if principal is None or principal.kind != "user":  # the USER rule guarantees this
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return principal


@router.mutation(
    "login",
    auth=PUBLIC,
    examples=[
        Example(
            "the demo administrator",
            params={"email": "admin@itms.solutions", "password": "Admin@123"},
            result={"token": _TOKEN, "user": _DEMO_USER},
            summary="On a server seeded with `tvms seed --demo`. The token differs on every call.",
        )
    ],
)
async def login(ctx: Context, input: LoginInput) -> LoginResult:
    """Sign in with e-mail and password; returns a session token and the user.

    A correct password may not be enough: the answer is then PRECONDITION_FAILED with
    `error.data.reason` naming the next step and `error.data.challenge`, a single-use ticket
    valid for 5 minutes, for the procedure that completes it: `MFA_REQUIRED` (the user has a
    second factor: `auth.verifyMfa`), `PASSWORD_EXPIRED` (older than `security.passwordExpiry`
    days: `auth.changeExpiredPassword`), `MFA_ENROLMENT_REQUIRED` (`security.mfaEnabled` is
    on and the user has no factor: `auth.enrolMfa`, then `auth.confirmMfaEnrolment`). Steps
    come in that order; the last one returns the session.

    A wrong e-mail or password gives the same UNAUTHORIZED error (in about the same time).
    After `security.maxLoginAttempts` failures the address is locked for
    `security.lockoutDuration` minutes: TOO_MANY_REQUESTS with `retryAfter` (seconds) and
    `lockedUntil` in `error.data`. One login per HTTP request: a second one in the same batch is
    TOO_MANY_REQUESTS without checking anything.
    """
    # Lockout counts per address, so a batch of logins for many addresses would buy one bcrypt
    # check (~250 ms of CPU) each from a single anonymous request: refuse all but the first.
    if not ctx.once_per_request("auth.login"):
        raise RpcError(ErrorCode.TOO_MANY_REQUESTS, ONE_LOGIN)
    check_bcrypt_limits(input.password, "$.password")
    email = normalize_email(input.email)
    detail: dict[str, Any] = {"email": email}
    try:
        attempt = await reserve_attempt(ctx, email)
    except RpcError as exc:
        await record(ctx, outcome=exc.code.name, detail={**detail, "reason": "locked"})
        raise
    row = await ctx.db.fetchrow(
        "SELECT id, email, password_hash, first_name, last_name, role, disabled FROM users"
        " WHERE email = :email",
        {"email": email},
    )
    if row is None:
        await ctx.services.passwords.verify_dummy(input.password)
        reason: str | None = "unknown email"
    elif not await ctx.services.passwords.verify(input.password, row["password_hash"]):
        reason = "wrong password"
    elif bool(row["disabled"]):
        reason = "account disabled"
    else:
        reason = None
    if reason is not None or row is None:
        await attempt_failed(ctx, attempt)
        actor = None if row is None else Principal("user", str(row["id"]), row["role"])
        await record(
            ctx,
            outcome=ErrorCode.UNAUTHORIZED.name,
            target_id=None if actor is None else actor.id,
            actor=actor,
            detail={**detail, "reason": reason},
        )
        raise RpcError(ErrorCode.UNAUTHORIZED, BAD_CREDENTIALS)
    user_id = str(row["id"])
    await attempt_succeeded(ctx, attempt)
    if ctx.services.passwords.needs_rehash(row["password_hash"]):
        await ctx.db.execute(
            "UPDATE users SET password_hash = :hash WHERE id = :id",
            {"id": user_id, "hash": await ctx.services.passwords.hash(input.password)},
        )
    actor = Principal("user", user_id, row["role"])
    try:
        session = await finish_signin(ctx, user_id, after=None)
    except RpcError as exc:
        step = {"reason": exc.data.get("reason")}
        await record(ctx, outcome=exc.code.name, target_id=user_id, actor=actor, detail={**detail, **step})
        raise
    await record(ctx, outcome=OK, target_id=user_id, actor=actor, detail=detail)
    return session


@router.query(
    "me",
    auth=USER,
    examples=[
        Example(
            "the demo administrator",
            result={
                **_DEMO_USER,
                "createdAt": "2024-11-15T12:00:00.000Z",
                "updatedAt": "2024-11-15T12:00:00.000Z",
            },
            summary="Signed in as the demo administrator of `tvms seed --demo`.",
        )
    ],
)
async def me(ctx: Context) -> Me:
    """The signed-in user."""
    principal = _principal(ctx)
    row = await ctx.db.fetchrow(
        "SELECT id, email, first_name, last_name, role, created_at, updated_at FROM users WHERE id = :id",
        {"id": principal.id},
    )
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, "User not found")
    return Me(
        id=row["id"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        role=row["role"],
        created_at=iso_ms(row["created_at"]),
        updated_at=iso_ms(row["updated_at"]),
    )


@router.mutation(
    "refreshToken",
    auth=USER,
    examples=[
        Example(
            "a fresh token",
            result={"token": _TOKEN, "expiresAt": "2024-11-16T12:00:00.000Z"},
            summary="The token differs on every call; it expires `security.sessionTimeout` from now.",
        )
    ],
)
async def refresh_token(ctx: Context) -> TokenResult:
    """A new token for the current, still valid one (which is revoked: tokens rotate).

    Each token is rotated once: of concurrent refreshes with the same token, one gets a new
    token and the others UNAUTHORIZED. Later calls in the same batch no longer use the old token.
    A session cannot be extended past what a sign-in would allow: PRECONDITION_FAILED with
    `error.data.reason` PASSWORD_EXPIRED or MFA_ENROLMENT_REQUIRED (no challenge: sign in again,
    or enrol with `auth.mfa.enrol`).
    """
    principal = _principal(ctx)
    claims = principal.claims
    await check_session_allowed(ctx, principal.id)
    # Revoke first and issue only when this call did the revoking: otherwise concurrent calls
    # that all passed verification would each fork a new, independent session.
    won = await revoke_jti(ctx, str(claims["jti"]), principal.id, int(claims["exp"]))
    ctx.credentials_changed()
    if not won:
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_TOKEN)
    issued = await issue_token(ctx, principal.id)
    return TokenResult(token=issued.token, expires_at=issued.expires_at)


@router.mutation(
    "logout",
    auth=PUBLIC,
    examples=[
        Example("this session", result={"success": True}),
        Example("every session of this user", params={"everywhere": True}, result={"success": True}),
    ],
)
async def logout(ctx: Context, input: LogoutInput) -> LogoutResult:
    """Revoke the presented token on the server (`everywhere`: every token of this user).

    Always succeeds, also without a token or with one that is already invalid.
    """
    try:
        principal = await ctx.resolve_principal()
    except RpcError:
        return LogoutResult(success=True)
    if principal is None or principal.kind != "user":
        return LogoutResult(success=True)
    claims = principal.claims
    await revoke_jti(ctx, str(claims["jti"]), principal.id, int(claims["exp"]))
    if input.everywhere:
        async with ctx.db.transaction() as tx:
            await bump_token_version(tx, principal.id, ctx.clock.now_ms())
        forget_user(ctx.services, principal.id)
    # The rest of this batch must not keep using the token just revoked.
    ctx.credentials_changed()
    return LogoutResult(success=True)


@router.mutation("changePassword", auth=USER)
async def change_password(ctx: Context, input: ChangePasswordInput) -> TokenResult:
    """Change your own password; every older token of yours stops working. Returns a new token.

    A wrong `currentPassword` is FORBIDDEN and counts towards the login lockout.
    """
    principal = _principal(ctx)
    check_bcrypt_limits(input.current_password, "$.currentPassword")
    await check_new_password(ctx, input.new_password, "$.newPassword")
    if input.new_password == input.current_password:
        raise invalid_params("$.newPassword", "The new password must differ from the current one")
    row = await ctx.db.fetchrow("SELECT email, password_hash FROM users WHERE id = :id", {"id": principal.id})
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, "User not found")
    attempt = await reserve_attempt(ctx, row["email"])
    if not await ctx.services.passwords.verify(input.current_password, row["password_hash"]):
        await attempt_failed(ctx, attempt)
        raise RpcError(ErrorCode.FORBIDDEN, "The current password is incorrect")
    await attempt_succeeded(ctx, attempt)
    new_hash = await ctx.services.passwords.hash(input.new_password)
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        await tx.execute(
            "UPDATE users SET password_hash = :hash, password_changed_at = :now WHERE id = :id",
            {"hash": new_hash, "now": now, "id": principal.id},
        )
        await bump_token_version(tx, principal.id, now)
    forget_user(ctx.services, principal.id)
    ctx.credentials_changed()  # the presented token is now stale, also for the rest of a batch
    issued = await issue_token(ctx, principal.id)
    return TokenResult(token=issued.token, expires_at=issued.expires_at)
