"""The second sign-in factor: TOTP codes (RFC 6238, pyotp) and one-time recovery codes.

Secrets never leave the database in clear: they are sealed with AES-GCM under a key derived
(HKDF-SHA256) from the service's secret key, bound to the user's id so a sealed secret copied
to another user's row does not open. Changing `TVMS_SECRET_KEY` therefore makes enrolled
secrets unreadable: those users sign in with a recovery code or an ADMIN resets their MFA.

A code matches when it is the one for the current 30 s step or the step just before or after
(phones drift); callers remember the last step accepted and refuse it and older ones, so a
code can be used once. Recovery codes carry 80 random bits, so a plain SHA-256 is enough to
store them (no dictionary can reach them); each is good for one sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ISSUER_NAME = "TVMS"
DIGITS = 6
INTERVAL_S = 30
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, none easily confused
_RECOVERY_GROUPS = 4  # of 4 symbols: 16 symbols x 5 bits = 80 bits
_TOTP_CODE = re.compile(r"[0-9]{6}")
_NONCE_BYTES = 12
_SEAL_INFO = b"tvms:totp-secret:v1"


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The `otpauth://totp/...` URI that authenticator apps read from a QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_S).provisioning_uri(
        name=account, issuer_name=ISSUER_NAME
    )


def is_totp_code(code: str) -> bool:
    """Six digits: a TOTP code (anything else is tried as a recovery code)."""
    return _TOTP_CODE.fullmatch(code) is not None


def matching_step(secret: str, code: str, now_ms: int) -> int | None:
    """The time step whose code `code` is (within one step of now), or None."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_S)
    current = now_ms // 1000 // INTERVAL_S
    found: int | None = None
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        # Compare with every step (no early exit), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def code_at(secret: str, now_ms: int) -> str:
    """The code an authenticator shows at `now_ms` (tests and the CLI)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_S).generate_otp(now_ms // 1000 // INTERVAL_S)


def _sealing_key(service_secret: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO)
    return hkdf.derive(service_secret)


def seal(service_secret: bytes, user_id: str, secret: str) -> str:
    """`secret` encrypted for storage in the row of `user_id`."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_sealing_key(service_secret)).encrypt(nonce, secret.encode("ascii"), user_id.encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(service_secret: bytes, user_id: str, sealed: str) -> str | None:
    """The secret sealed by `seal`, or None when it cannot be opened (other key, other user)."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        plain = AESGCM(_sealing_key(service_secret)).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], user_id.encode()
        )
    except (ValueError, InvalidTag):
        return None
    return plain.decode("ascii")


def new_recovery_codes() -> list[str]:
    """Fresh recovery codes, formatted `ABCD-EFGH-JKLM-NPQR`."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        symbols = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4 * _RECOVERY_GROUPS))
        codes.append("-".join(symbols[i : i + 4] for i in range(0, len(symbols), 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    """What is stored for a recovery code: SHA-256 of its symbols (case, dashes, spaces ignored)."""
    normalized = re.sub(r"[\s-]", "", code).upper()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()
