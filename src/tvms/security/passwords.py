"""bcrypt password hashes through libpass's `passlib` API, computed off the event loop.

bcrypt costs ~250 ms of CPU at cost 12. It releases the GIL, so it runs in worker threads; a
per-event-loop limiter (one slot per CPU) keeps a login storm from occupying every thread of
anyio's shared pool. Cost: `Config.bcrypt_rounds` (`TVMS_BCRYPT_ROUNDS`, 4 to 31, default 12;
tests use 4), read once at start-up and passed in by the caller: nothing here reads the
environment.

bcrypt 5 raises for passwords over 72 UTF-8 bytes (in hash AND verify) and passlib refuses NUL
bytes: callers check `password_too_long` / `password_problem` first and answer with a validation
error. `verify_dummy` spends the same time as a real check, for unknown e-mail addresses.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from functools import lru_cache

import anyio
from anyio import to_thread
from passlib.hash import bcrypt  # type: ignore[import-untyped]  # libpass ships no stubs

MAX_PASSWORD_BYTES = 72

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def password_too_long(password: str) -> bool:
    """bcrypt only reads 72 bytes; longer passwords are refused rather than silently cut."""
    return len(password.encode("utf-8")) > MAX_PASSWORD_BYTES


def password_problem(password: str) -> str | None:
    """Why bcrypt cannot take this password at all (length in bytes, NUL), or None."""
    if password_too_long(password):
        return f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8"
    if "\x00" in password:
        return "must not contain NUL characters"
    return None


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
        _limiters[loop] = limiter
    return limiter


def _hash_sync(password: str, rounds: int) -> str:
    value: str = bcrypt.using(rounds=rounds).hash(password)
    return value


def _verify_sync(password: str, hashed: str) -> bool:
    try:
        return bool(bcrypt.verify(password, hashed))
    except (ValueError, TypeError):  # a malformed stored hash never matches
        return False


@lru_cache(maxsize=8)
def _dummy_hash(rounds: int) -> str:
    return _hash_sync("tvms-dummy-password-never-matches", rounds)


async def hash_password(password: str, *, rounds: int) -> str:
    """The bcrypt hash of `password` at cost `rounds` (`Config.bcrypt_rounds`); the caller has
    checked the password with `password_problem`."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(f"password {problem}")
    return await to_thread.run_sync(_hash_sync, password, rounds, limiter=_limiter())


async def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed`; never raises for bad input (it just does not match)."""
    if password_problem(password) is not None:
        return False
    return await to_thread.run_sync(_verify_sync, password, hashed, limiter=_limiter())


async def verify_dummy(password: str, *, rounds: int) -> None:
    """Spend the time of a real verification at cost `rounds`, so an unknown account is not told
    apart by timing."""
    dummy = await to_thread.run_sync(_dummy_hash, rounds, limiter=_limiter())
    candidate = password if password_problem(password) is None else "refused"
    await to_thread.run_sync(_verify_sync, candidate, dummy, limiter=_limiter())


def needs_rehash(hashed: str, *, rounds: int) -> bool:
    """True when the stored hash uses a lower cost than `rounds` (the configured one)."""
    try:
        stored = int(hashed.split("$")[2])
    except (IndexError, ValueError):
        return True
    return stored < rounds
