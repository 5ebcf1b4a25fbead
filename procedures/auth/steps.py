"""The public steps of a sign-in after a correct password (see `signin`): each takes the
challenge of the answer that asked for it, and returns the session or the next step."""

from __future__ import annotations

from procedures.auth.challenges import challenge_failed, close_challenge, find_challenge
from procedures.auth.fields import Challenge, Code, Password
from procedures.auth.mfa import WRONG_CODE, check_code, confirm_enrolment, start_enrolment
from procedures.auth.mfa_routes import MfaEnrolment, enrolment_of
from procedures.auth.policy import check_new_password
from procedures.auth.sessions import bump_token_version, forget_user
from procedures.auth.signin import LoginResult, LoginUser, finish_signin
from procedures.schemas import Input, Output
from tvms.rpc import PUBLIC, Context, ErrorCode, Router, RpcError, invalid_params

router = Router("auth")


class VerifyMfaInput(Input):
    challenge: Challenge
    """`error.data.challenge` of the `auth.login` answer whose `reason` was MFA_REQUIRED."""
    code: Code
    """The six digits an authenticator app shows, or one of the recovery codes."""


class ChangeExpiredPasswordInput(Input):
    challenge: Challenge
    """`error.data.challenge` of the answer whose `reason` was PASSWORD_EXPIRED."""
    new_password: Password


class EnrolMfaInput(Input):
    challenge: Challenge
    """`error.data.challenge` of the answer whose `reason` was MFA_ENROLMENT_REQUIRED."""


class ConfirmMfaEnrolmentInput(Input):
    challenge: Challenge
    """The same challenge as given to `auth.enrolMfa`."""
    code: Code
    """The code the authenticator shows for the new secret."""


class MfaSignIn(Output):
    recovery_codes: list[str]
    """One-time codes for when the authenticator is lost; shown this once, stored hashed."""
    token: str
    user: LoginUser


@router.mutation("verifyMfa", auth=PUBLIC)
async def verify_mfa(ctx: Context, input: VerifyMfaInput) -> LoginResult:
    """The second sign-in step: a code for the challenge of an MFA_REQUIRED answer.

    Returns the session, or the next step (PASSWORD_EXPIRED, see `auth.login`). A code is
    accepted once (a replayed code is refused); each recovery code works once. A wrong code is
    UNAUTHORIZED; a challenge dies after 5 wrong codes or 5 minutes; `security.maxLoginAttempts`
    wrong codes for a user lock their second factor for `security.lockoutDuration` minutes
    (TOO_MANY_REQUESTS with `retryAfter`), in every process.
    """
    async with ctx.db.transaction() as tx:
        user_id = await find_challenge(ctx, tx, input.challenge, "MFA_REQUIRED")
        wrong = RpcError(ErrorCode.UNAUTHORIZED, WRONG_CODE)
        refusal = await check_code(ctx, tx, user_id, input.code, enrolled=True, wrong=wrong)
        if refusal is None:
            await close_challenge(tx, input.challenge)
        else:
            await challenge_failed(tx, input.challenge)
    if refusal is not None:
        raise refusal
    return await finish_signin(ctx, user_id, after="MFA_REQUIRED")


@router.mutation("changeExpiredPassword", auth=PUBLIC)
async def change_expired_password(ctx: Context, input: ChangeExpiredPasswordInput) -> LoginResult:
    """Set a new password with the challenge of a PASSWORD_EXPIRED answer; no session needed.

    The new password follows the password policy and must differ from the old one. Every older
    token of the user stops working. Returns the session, or the next step
    (MFA_ENROLMENT_REQUIRED, see `auth.login`; the password is changed either way).
    """
    await check_new_password(ctx, input.new_password, "$.newPassword")
    # Check the challenge before spending bcrypt time on the caller's behalf.
    async with ctx.db.transaction() as tx:
        user_id = await find_challenge(ctx, tx, input.challenge, "PASSWORD_EXPIRED")
    current = await ctx.db.fetchval("SELECT password_hash FROM users WHERE id = :id", {"id": user_id})
    if current is not None and await ctx.services.passwords.verify(input.new_password, str(current)):
        raise invalid_params("$.newPassword", "The new password must differ from the current one")
    new_hash = await ctx.services.passwords.hash(input.new_password)
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        # Still valid (not used or voided meanwhile), and locked until the change is written.
        await find_challenge(ctx, tx, input.challenge, "PASSWORD_EXPIRED")
        await tx.execute(
            "UPDATE users SET password_hash = :hash, password_changed_at = :now WHERE id = :id",
            {"hash": new_hash, "now": now, "id": user_id},
        )
        await bump_token_version(tx, user_id, now)
        await close_challenge(tx, input.challenge)
    forget_user(ctx.services, user_id)
    return await finish_signin(ctx, user_id, after="PASSWORD_EXPIRED")


@router.mutation("enrolMfa", auth=PUBLIC)
async def enrol_mfa(ctx: Context, input: EnrolMfaInput) -> MfaEnrolment:
    """The enrolment step of a sign-in (MFA_ENROLMENT_REQUIRED): a new TOTP secret and its
    `otpauth://` URI for a QR code. Calling it again replaces the unconfirmed secret; the
    factor is on once `auth.confirmMfaEnrolment` gets a first code.
    """
    async with ctx.db.transaction() as tx:
        user_id = await find_challenge(ctx, tx, input.challenge, "MFA_ENROLMENT_REQUIRED")
    return await enrolment_of(ctx, user_id, await start_enrolment(ctx, user_id))


@router.mutation("confirmMfaEnrolment", auth=PUBLIC)
async def confirm_mfa_enrolment(ctx: Context, input: ConfirmMfaEnrolmentInput) -> MfaSignIn:
    """Finish a sign-in's enrolment step with a first code: turns the factor on and returns
    10 one-time recovery codes with the session. A wrong code is FORBIDDEN.
    """
    async with ctx.db.transaction() as tx:
        user_id = await find_challenge(ctx, tx, input.challenge, "MFA_ENROLMENT_REQUIRED")
        outcome = await confirm_enrolment(ctx, tx, user_id, input.code)
        if isinstance(outcome, RpcError):
            await challenge_failed(tx, input.challenge)
        else:
            await close_challenge(tx, input.challenge)
    if isinstance(outcome, RpcError):
        raise outcome
    session = await finish_signin(ctx, user_id, after="MFA_ENROLMENT_REQUIRED")
    return MfaSignIn(recovery_codes=outcome, token=session.token, user=session.user)
