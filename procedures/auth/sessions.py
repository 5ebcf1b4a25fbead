"""Issuing tokens and deciding, per request, whether a bearer token still stands for a user.

A token is accepted when its signature and claims are good (tvms.security.tokens) AND the
database agrees: the user exists, is enabled, has the same role and `token_version` as the
token says, and the token's `jti` was not logged out. That state is shared by every process;
each process caches it for at most the cache TTL (`services.cache`, 5 s), which is the longest
a revocation made by ANOTHER process can take to be seen. Revocations made in this process
drop the cached entries at once.

`security.sessionTimeout` (hours) bounds the age of every token at every use, not only when it
is issued: lowering it ends the older sessions too, within the settings cache's TTL (5 s).
"""

from __future__ import annotations

import msgspec

from procedures.settings.store import get_value
from procedures.state import state_of
from tvms.clock import iso_ms
from tvms.db import Transaction
from tvms.rpc import Context, Credentials, ErrorCode, Principal, RpcError, Services
from tvms.security.tokens import TokenClaims, TokenError, decode_token, encode_token

USER_STATE_KEY = "auth:user:"
REVOKED_KEY = "auth:jti:"
INVALID_TOKEN = "Invalid or expired token"


class UserState(msgspec.Struct, frozen=True):
    role: str
    disabled: bool
    token_version: int


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    claims: TokenClaims

    @property
    def expires_at(self) -> str:
        return iso_ms(self.claims.exp * 1000)


async def _user_state(services: Services, user_id: str) -> UserState | None:
    async def load() -> UserState | None:
        row = await services.db.fetchrow(
            "SELECT role, disabled, token_version FROM users WHERE id = :id", {"id": user_id}
        )
        if row is None:
            return None
        return UserState(row["role"], bool(row["disabled"]), int(row["token_version"]))

    return await services.cache.get_or_load(USER_STATE_KEY + user_id, load)


async def _is_revoked(services: Services, jti: str) -> bool:
    async def load() -> bool:
        found = await services.db.fetchval("SELECT 1 FROM revoked_tokens WHERE jti = :jti", {"jti": jti})
        return found is not None

    return await services.cache.get_or_load(REVOKED_KEY + jti, load)


async def verify_token(services: Services, token: str) -> TokenClaims:
    """The claims of a token that is valid right now; UNAUTHORIZED otherwise (one message for all)."""
    try:
        claims = decode_token(state_of(services).secret_key, token, services.clock.now_ms())
    except TokenError:
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_TOKEN) from None
    timeout_s = int(await get_value(services, "security.sessionTimeout")) * 3600
    if claims.iat + timeout_s <= services.clock.now_ms() // 1000:
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_TOKEN)
    state = await _user_state(services, claims.id)
    if (
        state is None
        or state.disabled
        or state.token_version != claims.ver
        or state.role != claims.role
        or await _is_revoked(services, claims.jti)
    ):
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_TOKEN)
    return claims


async def resolve_bearer(credentials: Credentials, services: Services) -> Principal | None:
    """The principal resolver for `Authorization: Bearer <jwt>`; None without a bearer token.

    Raises UNAUTHORIZED for an invalid, expired or revoked token. Device keys (X-API-Key) are
    resolved elsewhere and composed with this one.
    """
    if credentials.bearer is None:
        return None
    claims = await verify_token(services, credentials.bearer)
    return Principal("user", claims.id, claims.role, msgspec.to_builtins(claims))


async def issue_token(ctx: Context, user_id: str) -> IssuedToken:
    """A new token for the user as the database has it now (role, names, token version)."""
    row = await ctx.db.fetchrow(
        "SELECT id, email, first_name, last_name, role, disabled, token_version FROM users WHERE id = :id",
        {"id": user_id},
    )
    if row is None or bool(row["disabled"]):
        raise RpcError(ErrorCode.UNAUTHORIZED, INVALID_TOKEN)
    hours = int(await get_value(ctx, "security.sessionTimeout"))
    token, claims = encode_token(
        state_of(ctx.services).secret_key,
        user_id=row["id"],
        email=row["email"],
        role=row["role"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        version=int(row["token_version"]),
        now_ms=ctx.clock.now_ms(),
        lifetime_s=hours * 3600,
    )
    return IssuedToken(token, claims)


def forget_user(services: Services, user_id: str) -> None:
    """Drop this process's cached state of a user after changing it (role, version, deletion)."""
    services.cache.invalidate(USER_STATE_KEY + user_id)


async def bump_token_version(tx: Transaction, user_id: str, now_ms: int) -> None:
    """Invalidate every token of the user issued so far (callers then call `forget_user`)."""
    await tx.execute(
        "UPDATE users SET token_version = token_version + 1, updated_at = :now WHERE id = :id",
        {"id": user_id, "now": now_ms},
    )


async def revoke_jti(ctx: Context, jti: str, user_id: str, expires_s: int) -> bool:
    """Log one token out everywhere (kept until it would have expired anyway).

    True when this call revoked it, False when it already was (by a concurrent call, maybe in
    another process: the insert is the one place that decides, so a rotation can check it won).
    """
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        inserted = await tx.execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (:jti, :user_id, :expires_at)"
            " ON CONFLICT (jti) DO NOTHING",
            {"jti": jti, "user_id": user_id, "expires_at": expires_s * 1000},
        )
        # Rows of tokens that expired are useless: an expired token is refused by its claims.
        await tx.execute("DELETE FROM revoked_tokens WHERE expires_at < :now", {"now": now})
    ctx.cache.invalidate(REVOKED_KEY + jti)
    return inserted > 0
