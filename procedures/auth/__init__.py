"""`auth.*`: sign in with e-mail and password, session tokens, logout and password change.

`resolve_bearer` (the principal resolver for bearer tokens) lives in `sessions`.
"""

from __future__ import annotations

from procedures.auth.routes import auth
from procedures.auth.sessions import resolve_bearer, verify_token

__all__ = ["auth", "resolve_bearer", "verify_token"]
