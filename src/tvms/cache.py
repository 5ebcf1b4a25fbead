"""Read-mostly values (settings, licence, timezone) kept briefly in process memory.

Invalidated on write in this process; the TTL bounds how stale another process can be.
cachetools' `@cached` would cache coroutine objects, so awaited values are stored by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cachetools import TTLCache

from tvms.clock import Clock

T = TypeVar("T")


class Cache:
    def __init__(self, clock: Clock, *, ttl: float = 5.0, maxsize: int = 1024) -> None:
        self._values: TTLCache[str, Any] = TTLCache(maxsize=maxsize, ttl=ttl, timer=clock.monotonic)

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        try:
            value: T = self._values[key]
            return value
        except KeyError:
            value = await load()
            self._values[key] = value
            return value

    def invalidate(self, prefix: str = "") -> None:
        """Forget every key starting with `prefix` (all keys when empty)."""
        for key in [key for key in self._values if key.startswith(prefix)]:
            self._values.pop(key, None)

    def probe(self) -> bool:
        """A set-and-read round trip, for the health check."""
        self._values["__probe__"] = True
        return self._values.pop("__probe__", False) is True
