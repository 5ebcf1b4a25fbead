"""The app with the auth, users and audit routers wired in (see tests/auth/support.py)."""

from tests.auth.support import admin, bcrypt_cost, config, second_app, test_api

__all__ = ["admin", "bcrypt_cost", "config", "second_app", "test_api"]
