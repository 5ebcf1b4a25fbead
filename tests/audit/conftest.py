"""The default app with a fixed secret key, and real users (see tests/auth/support.py)."""

from tests.auth.support import admin, bcrypt_cost, config, second_app

__all__ = ["admin", "bcrypt_cost", "config", "second_app"]
