"""Password rules: bcrypt's limits (72 UTF-8 bytes, no NUL) plus the `security.password*` settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procedures.settings.catalog import BY_KEY
from procedures.settings.store import get_value
from tvms.rpc import Context, RpcError, invalid_params
from tvms.security.passwords import password_problem

POLICY_KEYS = (
    "security.passwordMinLength",
    "security.passwordRequireUppercase",
    "security.passwordRequireDigit",
    "security.passwordRequireSymbol",
)


def policy_problem(password: str, settings: Mapping[str, Any]) -> str | None:
    """What is wrong with `password` under these settings (missing keys take defaults), or None."""

    def setting(key: str) -> Any:
        return settings.get(key, BY_KEY[key].default)

    problem = password_problem(password)
    if problem is not None:
        return problem
    minimum = int(setting("security.passwordMinLength"))
    if len(password) < minimum:
        return f"must be at least {minimum} characters long"
    if not password.strip():
        return "must not be blank"
    if setting("security.passwordRequireUppercase") and not any(c.isupper() for c in password):
        return "must contain an upper-case letter"
    if setting("security.passwordRequireDigit") and not any(c.isdigit() for c in password):
        return "must contain a digit"
    if setting("security.passwordRequireSymbol") and all(c.isalnum() or c.isspace() for c in password):
        return "must contain a symbol"
    return None


async def check_new_password(ctx: Context, password: str, path: str) -> None:
    """Raise a validation error at `path` unless `password` satisfies the current policy."""
    settings = {key: await get_value(ctx, key) for key in POLICY_KEYS}
    problem = policy_problem(password, settings)
    if problem is not None:
        raise invalid_params(path, f"Password {problem}")


def check_bcrypt_limits(password: str, path: str) -> None:
    """Refuse what bcrypt cannot take (over 72 UTF-8 bytes, NUL) as a validation error."""
    problem = password_problem(password)
    if problem is not None:
        error: RpcError = invalid_params(path, f"Password {problem}")
        raise error
