"""Session tokens: JWT HS256 (python-jose) signed with the service's secret key.

Decoding always passes `algorithms=["HS256"]` (without it jose accepts HS384 and friends), and
expiry is checked against the service's clock rather than jose's `time.time()` so tests can move
time. Whether a well-signed token is still valid (user, token version, logout) is decided by the
auth procedures against the database; this module only knows about signatures and claims.

The secret: `TVMS_SECRET_KEY` (≥ 32 bytes) or, when unset, a random key generated once into
`<data_dir>/secret.key` with mode 0600. Several processes starting together agree on one file:
the key is written to a private temporary file and hard-linked into place, which fails for all
but the first.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import uuid
from pathlib import Path
from typing import Literal

import msgspec
from jose import jwt  # type: ignore[import-untyped]  # python-jose ships no stubs
from jose.exceptions import JOSEError  # type: ignore[import-untyped]

from tvms.config import Config, ConfigError

log = logging.getLogger("tvms.security")

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 4096  # a real token is ~500 characters; bigger ones are not even parsed
CLOCK_SKEW_S = 60  # tokens "issued" (or valid from) further in the future than this are refused
ISSUER = "tvms"
AUDIENCE = "tvms-api"
SECRET_FILE = "secret.key"

Role = Literal["ADMIN", "OPERATOR", "VIEWER"]


class TokenError(Exception):
    """A token that is malformed, badly signed, expired or otherwise unusable."""


class TokenClaims(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """The claims we issue: the documented ones plus sub, iss, aud, iat, nbf, jti and the token version."""

    id: str
    email: str
    role: Role
    first_name: str
    last_name: str
    exp: int
    sub: str
    iss: str
    aud: str
    iat: int
    nbf: int
    jti: str
    ver: int


def encode_token(
    secret: bytes,
    *,
    user_id: str,
    email: str,
    role: str,
    first_name: str,
    last_name: str,
    version: int,
    now_ms: int,
    lifetime_s: int,
) -> tuple[str, TokenClaims]:
    """A fresh signed token (new `jti`) valid for `lifetime_s` seconds from `now_ms`."""
    issued = now_ms // 1000
    claims = TokenClaims(
        id=user_id,
        email=email,
        role=role,  # type: ignore[arg-type]  # the database CHECK constraint keeps it a Role
        first_name=first_name,
        last_name=last_name,
        exp=issued + lifetime_s,
        sub=user_id,
        iss=ISSUER,
        aud=AUDIENCE,
        iat=issued,
        nbf=issued,
        jti=uuid.uuid4().hex,
        ver=version,
    )
    token: str = jwt.encode(msgspec.to_builtins(claims), secret, algorithm=ALGORITHM)
    return token, claims


def decode_token(secret: bytes, token: str, now_ms: int) -> TokenClaims:
    """The verified claims of `token`; raises TokenError for anything not issued by us and current."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("token missing or too long")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenError("unexpected algorithm")
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Expiry and not-before are checked below against the service clock (and `exp`, `nbf`
            # are required by TokenClaims: jose's require_* would turn its own clock checks back
            # on). jose lets a token WITHOUT `aud` pass even with `audience=`: require it too.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_aud": True,
                "verify_iss": True,
                "require_aud": True,
                "require_iss": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
            },
        )
    except (JOSEError, ValueError, TypeError, KeyError) as exc:
        raise TokenError("invalid token") from exc
    try:
        claims = msgspec.convert(payload, TokenClaims)
    except msgspec.ValidationError as exc:
        raise TokenError("unexpected claims") from exc
    now_s = now_ms // 1000
    if claims.sub != claims.id:
        raise TokenError("subject does not match id")
    if claims.iss != ISSUER or claims.aud != AUDIENCE:
        raise TokenError("wrong issuer or audience")
    if claims.exp <= now_s:
        raise TokenError("token expired")
    if claims.iat > now_s + CLOCK_SKEW_S or claims.iat > claims.exp:
        raise TokenError("token issued in the future")
    if claims.nbf > now_s + CLOCK_SKEW_S or claims.nbf >= claims.exp:
        raise TokenError("token not valid yet")
    return claims


# ----- the secret key ---------------------------------------------------------------------------


def _check_length(key: bytes, where: str) -> bytes:
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{where} must be at least {MIN_SECRET_BYTES} bytes (got {len(key)}); "
            "generate one with: openssl rand -hex 32"
        )
    return key


def _read_key_file(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Readable by other users: tighten it rather than keep serving with an exposed key file.
        os.chmod(path, 0o600)
        log.warning("secret key file %s had mode %o; changed to 600", path, mode)
    return _check_length(path.read_bytes().strip(), f"the secret key file {path}")


def _generate_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode("ascii")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process won the race: use its key
            return _read_key_file(path)
    finally:
        temporary.unlink(missing_ok=True)
    log.warning(
        "TVMS_SECRET_KEY is not set: generated a new secret key into %s (mode 600). "
        "Set TVMS_SECRET_KEY in production; every process must share the same key.",
        path,
    )
    return key


def load_secret(config: Config) -> bytes:
    """The token signing key: TVMS_SECRET_KEY, or the data dir's key file (generated once).

    Raises ConfigError (one line) for a key shorter than 32 bytes.
    """
    if config.secret_key is not None:
        return _check_length(config.secret_key.encode("utf-8"), "TVMS_SECRET_KEY")
    path = config.data_dir / SECRET_FILE
    if path.exists():
        return _read_key_file(path)
    return _generate_key_file(path)


def check_secret(config: Config) -> None:
    """Start-up check for `Api(checks=[...])`: fail fast on a short key, create one when unset."""
    load_secret(config)
