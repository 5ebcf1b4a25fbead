"""`auth.*`: sign in (password, second factor, expired password), session tokens, logout,
password change; `auth.mfa.*`: a user's own TOTP second factor.

`resolve_bearer` (the principal resolver for bearer tokens) lives in `sessions`.
"""

from __future__ import annotations

from procedures.auth.mfa_routes import mfa
from procedures.auth.routes import auth
from procedures.auth.sessions import resolve_bearer, verify_token
from procedures.auth.steps import steps as signin_steps

__all__ = ["auth", "mfa", "resolve_bearer", "signin_steps", "verify_token"]
