"""Who may call a procedure, and who is calling.

A procedure declares an `Auth`; the dispatcher checks it against the `Principal` that the
pluggable resolver (`tvms.rpc.context.Resolver`) finds in the request's credentials, per call
(also inside a batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tvms.rpc.errors import ErrorCode, RpcError

PrincipalKind = Literal["user", "device"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: a signed-in user (with a role) or a field device."""

    kind: PrincipalKind
    id: str
    role: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Auth:
    """An access rule. Use the constants `PUBLIC`, `USER`, `DEVICE` or `roles(...)`."""

    kind: Literal["public", "user", "roles", "device"]
    roles: frozenset[str] = frozenset()

    def describe(self) -> str:
        if self.kind == "roles":
            return "roles:" + ",".join(sorted(self.roles))
        return self.kind

    def check(self, principal: Principal | None) -> None:
        """Raise UNAUTHORIZED (nobody signed in) or FORBIDDEN (the wrong caller)."""
        if self.kind == "public":
            return
        if principal is None:
            raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
        if self.kind == "device":
            if principal.kind != "device":
                raise RpcError(ErrorCode.FORBIDDEN, "This procedure is for devices only")
            return
        if principal.kind != "user":
            raise RpcError(ErrorCode.FORBIDDEN, "This procedure is for users only")
        if self.kind == "roles" and principal.role not in self.roles:
            raise RpcError(ErrorCode.FORBIDDEN, "Your role may not call this procedure")


PUBLIC = Auth("public")
USER = Auth("user")
DEVICE = Auth("device")


def roles(*names: str) -> Auth:
    """Signed-in users holding one of these roles."""
    if not names:
        raise ValueError("roles() needs at least one role name")
    return Auth("roles", frozenset(names))
