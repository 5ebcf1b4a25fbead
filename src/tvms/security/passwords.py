"""bcrypt password hashes through libpass's `passlib` API, computed off the event loop.

bcrypt costs ~250 ms of CPU at cost 12. It releases the GIL, so it runs in worker threads;
`Passwords` holds the cost and a limiter (one slot per CPU) that keeps a login storm from
occupying every thread of anyio's shared pool. The app makes one, `Services.passwords`, from
`Config.bcrypt_rounds` (`TVMS_BCRYPT_ROUNDS`, 4 to 31, default 12; tests use 4): nothing here
reads the environment or keeps state of its own.

bcrypt 5 raises for passwords over 72 UTF-8 bytes (in hash AND verify) and passlib refuses NUL
bytes: callers check `password_too_long` / `password_problem` first and answer with a validation
error. `verify_dummy` spends the same time as a real check, for unknown e-mail addresses.
"""

from __future__ import annotations

import os
from functools import lru_cache

import anyio
from anyio import to_thread
from passlib.hash import bcrypt  # type: ignore[import-untyped]  # libpass ships no stubs

MAX_PASSWORD_BYTES = 72


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


class Passwords:
    """bcrypt at one cost, computed in worker threads, at most one per CPU at a time."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self._slots = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))

    async def hash(self, password: str) -> str:
        """The bcrypt hash of `password`; the caller has checked it with `password_problem`."""
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(f"password {problem}")
        return await to_thread.run_sync(_hash_sync, password, self.rounds, limiter=self._slots)

    async def verify(self, password: str, hashed: str) -> bool:
        """True when `password` matches `hashed`; never raises for bad input (it just does not match)."""
        if password_problem(password) is not None:
            return False
        return await to_thread.run_sync(_verify_sync, password, hashed, limiter=self._slots)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so an unknown account is not told apart by timing."""
        dummy = await to_thread.run_sync(_dummy_hash, self.rounds, limiter=self._slots)
        candidate = password if password_problem(password) is None else "refused"
        await to_thread.run_sync(_verify_sync, candidate, dummy, limiter=self._slots)

    def needs_rehash(self, hashed: str) -> bool:
        """True when the stored hash uses a lower cost than this one (the configured one)."""
        try:
            stored = int(hashed.split("$")[2])
        except (IndexError, ValueError):
            return True
        return stored < self.rounds
