"""Password hashing (bcrypt) and session tokens (JWT HS256): the service's two secrets-handling pieces."""

from tvms.security.passwords import (
    MAX_PASSWORD_BYTES,
    hash_password,
    password_too_long,
    verify_dummy,
    verify_password,
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
    "TokenClaims",
    "TokenError",
    "check_secret",
    "decode_token",
    "encode_token",
    "hash_password",
    "load_secret",
    "password_too_long",
    "verify_dummy",
    "verify_password",
]
