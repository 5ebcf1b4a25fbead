"""The default app with a fixed secret key, and real users (see tests/auth/support.py)."""

from tests.auth.support import admin, config, second_app

__all__ = ["admin", "config", "second_app"]
