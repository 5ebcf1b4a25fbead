"""The `auth.mfa.*` procedures: a user's own TOTP second factor."""

from __future__ import annotations

from procedures.auth.fields import Code, Password
from procedures.auth.lockout import attempt_failed, attempt_succeeded, reserve_attempt
from procedures.auth.mfa import (
    WRONG_CODE,
    check_code,
    confirm_enrolment,
    recovery_codes_left,
    remove_factor,
    replace_recovery_codes,
    start_enrolment,
)
from procedures.auth.policy import check_bcrypt_limits
from procedures.schemas import Input, Output
from procedures.settings.store import get_value
from tvms.rpc import USER, Context, ErrorCode, Router, RpcError
from tvms.security.totp import DIGITS, INTERVAL_S, ISSUER_NAME, provisioning_uri

router = Router("auth.mfa")


class MfaStatus(Output):
    enabled: bool
    """A confirmed second factor is asked for at every sign-in."""
    pending: bool
    """Enrolment was started but not confirmed with a first code."""
    required: bool
    """`security.mfaEnabled`: every user must have a second factor."""
    recovery_codes_left: int


class MfaEnrolment(Output):
    secret: str
    """Base32 secret for manual entry; shown this once, never readable after confirmation."""
    otpauth_uri: str
    """`otpauth://totp/...`: render as a QR code for an authenticator app."""
    issuer: str
    account: str
    digits: int
    period: int


class MfaConfirmation(Output):
    recovery_codes: list[str]
    """One-time codes for when the authenticator is lost; shown this once, stored hashed."""


class MfaCodeInput(Input):
    code: Code


class MfaDisableInput(Input):
    current_password: Password
    code: Code


class MfaDisableResult(Output):
    success: bool


class RecoveryCodes(Output):
    recovery_codes: list[str]


async def _signed_in_user(ctx: Context) -> str:
    principal = ctx.principal
    if principal is None or principal.kind != "user":  # the USER rule guarantees this
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return principal.id


@router.query("getStatus", auth=USER)
async def get_status(ctx: Context) -> MfaStatus:
    """Your second factor: enabled, pending confirmation, required by policy, recovery codes left."""
    user_id = await _signed_in_user(ctx)
    state = await ctx.db.fetchval("SELECT enabled FROM user_mfa WHERE user_id = :id", {"id": user_id})
    return MfaStatus(
        enabled=bool(state),
        pending=state is not None and not bool(state),
        required=bool(await get_value(ctx, "security.mfaEnabled")),
        recovery_codes_left=await recovery_codes_left(ctx, user_id),
    )


async def enrolment_of(ctx: Context, user_id: str, secret: str) -> MfaEnrolment:
    """The answer for a secret just made by `start_enrolment`."""
    email = str(await ctx.db.fetchval("SELECT email FROM users WHERE id = :id", {"id": user_id}))
    return MfaEnrolment(
        secret=secret,
        otpauth_uri=provisioning_uri(secret, email),
        issuer=ISSUER_NAME,
        account=email,
        digits=DIGITS,
        period=INTERVAL_S,
    )


@router.mutation("enrol", auth=USER)
async def enrol(ctx: Context) -> MfaEnrolment:
    """Start TOTP enrolment: a new secret and its `otpauth://` URI (for a QR code).

    The factor is off until `auth.mfa.confirm` gets a first code; calling this again replaces
    an unconfirmed secret. CONFLICT when a confirmed factor exists: its secret is never shown
    again. (During a sign-in that requires enrolment, use `auth.enrolMfa` with the challenge.)
    """
    user_id = await _signed_in_user(ctx)
    return await enrolment_of(ctx, user_id, await start_enrolment(ctx, user_id))


@router.mutation("confirm", auth=USER)
async def confirm(ctx: Context, input: MfaCodeInput) -> MfaConfirmation:
    """Turn your second factor on with a first code; returns 10 one-time recovery codes.

    A wrong code is FORBIDDEN and counts towards the second factor's lockout.
    """
    user_id = await _signed_in_user(ctx)
    async with ctx.db.transaction() as tx:
        outcome = await confirm_enrolment(ctx, tx, user_id, input.code)
    if isinstance(outcome, RpcError):
        raise outcome
    return MfaConfirmation(recovery_codes=outcome)


@router.mutation("disable", auth=USER)
async def disable(ctx: Context, input: MfaDisableInput) -> MfaDisableResult:
    """Turn your second factor off, with your password and a current code (or a recovery code).

    PRECONDITION_FAILED while `security.mfaEnabled` requires a factor for everyone. A wrong
    password is FORBIDDEN and counts towards the login lockout; a wrong code is FORBIDDEN and
    counts towards the second factor's lockout.
    """
    user_id = await _signed_in_user(ctx)
    if bool(await get_value(ctx, "security.mfaEnabled")):
        raise RpcError(ErrorCode.PRECONDITION_FAILED, "Multi-factor sign-in is required for every user")
    check_bcrypt_limits(input.current_password, "$.currentPassword")
    row = await ctx.db.fetchrow("SELECT email, password_hash FROM users WHERE id = :id", {"id": user_id})
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, "User not found")
    attempt = await reserve_attempt(ctx, row["email"])
    if not await ctx.services.passwords.verify(input.current_password, row["password_hash"]):
        await attempt_failed(ctx, attempt)
        raise RpcError(ErrorCode.FORBIDDEN, "The current password is incorrect")
    await attempt_succeeded(ctx, attempt)
    async with ctx.db.transaction() as tx:
        wrong = RpcError(ErrorCode.FORBIDDEN, WRONG_CODE)
        refusal = await check_code(ctx, tx, user_id, input.code, enrolled=True, wrong=wrong)
        if refusal is None:
            await remove_factor(tx, user_id)
    if refusal is not None:
        raise refusal
    return MfaDisableResult(success=True)


@router.mutation("regenerateRecoveryCodes", auth=USER)
async def regenerate_recovery_codes(ctx: Context, input: MfaCodeInput) -> RecoveryCodes:
    """New recovery codes, for a current code (or a recovery code); the old ones stop working."""
    user_id = await _signed_in_user(ctx)
    async with ctx.db.transaction() as tx:
        wrong = RpcError(ErrorCode.FORBIDDEN, WRONG_CODE)
        refusal = await check_code(ctx, tx, user_id, input.code, enrolled=True, wrong=wrong)
        codes = await replace_recovery_codes(tx, user_id) if refusal is None else []
    if refusal is not None:
        raise refusal
    return RecoveryCodes(recovery_codes=codes)
