"""Password hashing (bcrypt) and session tokens (JWT HS256): the service's two secrets-handling pieces."""

from tvms.security.passwords import (
    MAX_PASSWORD_BYTES,
    Passwords,
    password_too_long,
)
from tvms.security.tokens import (
    TokenClaims,
    TokenError,
    check_secret,
    decode_token,
    encode_token,
    load_secret,
)

__all__ = [
    "MAX_PASSWORD_BYTES",
    "Passwords",
    "TokenClaims",
    "TokenError",
    "check_secret",
    "decode_token",
    "encode_token",
    "load_secret",
    "password_too_long",
]
