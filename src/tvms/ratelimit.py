"""A per-client limit on anonymous and failed calls, shared by every process through the database.

What counts: every call made without a verified principal (anonymous, or with credentials
that did not verify) and every call that failed, whoever made it. Successful calls of signed-in
users and devices cost nothing here: no counting, no database access. The client is the caller's
principal when it has one, else its network address. Over `limit` counted calls in a fixed
window of `window_s` seconds, that client's calls are refused with TOO_MANY_REQUESTS
(`error.data.retryAfter`: seconds until the window ends) until the window ends.

Across processes the count is shared through the database (`tvms.limiter`); the limit is off
when `TVMS_RATE_LIMIT` is 0 (then `Services.rate_limiter` is None).
"""

from __future__ import annotations

import contextlib
from typing import Any

from tvms.rpc import Context, ErrorCode, Next, RpcError


def client_of(ctx: Context) -> str:
    """Whom a call is counted against: its verified principal, else its network address."""
    principal = ctx.principal
    if principal is not None:
        return f"{principal.kind}:{principal.id}"
    return f"address:{ctx.credentials.client or 'unknown'}"


async def rate_limit(ctx: Context, call_next: Next) -> Any:
    """Middleware (for every call, outermost): refuse clients over the limit, count the rest.

    While nobody is refused in this process the check before the call costs one dict test;
    only then are the caller's credentials verified early, to tell whom the call belongs to.
    A successful call by a verified caller is not counted (credentials a public procedure did
    not need are verified after it, once per request, to tell).
    """
    limiter = ctx.services.rate_limiter
    if limiter is None:
        return await call_next(ctx)
    if limiter.blocked:
        if _presents_credentials(ctx):
            with contextlib.suppress(RpcError):  # invalid credentials: counted against the address
                await ctx.resolve_principal()
        wait = limiter.retry_after(client_of(ctx), ctx.clock.now_ms())
        if wait is not None:
            raise RpcError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"Too many anonymous or failed calls from this client; try again in {wait} s",
                retryAfter=wait,
            )
    try:
        result = await call_next(ctx)
    except Exception:
        await limiter.count(client_of(ctx), ctx.clock.now_ms())
        raise
    if ctx.principal is None:
        if _presents_credentials(ctx):  # a public procedure: verify them now (once per request)
            with contextlib.suppress(RpcError):
                await ctx.resolve_principal()
        if ctx.principal is None:
            await limiter.count(client_of(ctx), ctx.clock.now_ms())
    return result


def _presents_credentials(ctx: Context) -> bool:
    return ctx.credentials.bearer is not None or ctx.credentials.api_key is not None
