"""`auth.*`: sign in (password, second factor, expired password), session tokens, logout,
password change; `auth.mfa.*`: a user's own TOTP second factor.

`resolve_bearer` (the principal resolver for bearer tokens) lives in `sessions`.
"""

from __future__ import annotations

from procedures.auth import mfa_routes, routes, steps
from procedures.auth.sessions import resolve_bearer, verify_token
from tvms.rpc import Router

auth = Router("auth", include=[routes.router, steps.router, mfa_routes.router])
"""Sign-in and sessions (`routes`), the later sign-in steps (`steps`), then `auth.mfa.*`."""

__all__ = ["auth", "resolve_bearer", "verify_token"]
