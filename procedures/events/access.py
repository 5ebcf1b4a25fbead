"""Who may call the `events.*` procedures: the reviewers' rule and the calling device."""

from __future__ import annotations

from tvms.rpc import Context, ErrorCode, RpcError, roles

REVIEWERS = roles("OPERATOR", "ADMIN")


def calling_sensor(ctx: Context) -> str:
    """The sensor id of the device calling a DEVICE procedure."""
    if ctx.principal is None or ctx.principal.kind != "device":
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return ctx.principal.id
