"""`await within(coro, when)`: `asyncio.timeout_at(when)` around `coro`, armed only if it waits.

Most calls on the request path never wait: the body came with the headers, the answer comes
from memory. A timeout armed around them anyway costs a timer handle scheduled and cancelled
per request (measured: more than the rest of the request timeout and body deadline together).
`within` runs `coro` up to its first suspension; only if it suspends is the deadline armed
(`asyncio.timeout_at`, the same absolute time), before the loop gets control. A coroutine that
finishes without waiting cannot be interrupted by a timeout anyway, so the behaviour is the
same: `TimeoutError` past `when`, a cancellation from elsewhere stays a cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from types import CoroutineType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Within(Generic[T]):
    __slots__ = ("coro", "when")

    def __init__(self, coro: Coroutine[Any, Any, T], when: float | None) -> None:
        self.coro = coro
        self.when = when

    def __await__(self) -> Generator[Any, Any, T]:
        coro, when = self.coro, self.when
        try:
            first = coro.send(None)
        except StopIteration as done:  # finished without waiting: no timer was needed
            value: T = done.value
            return value
        except BaseException:
            coro.close()
            raise
        if when is None:
            return (yield from _drive(coro, first))
        return (yield from _rest(coro, first, when).__await__())


async def _rest(coro: Coroutine[Any, Any, T], first: Any, when: float) -> T:
    async with asyncio.timeout_at(when):
        return await _Resumed(coro, first)


class _Resumed(Generic[T]):
    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, T], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, T]:
        return (yield from _drive(self.coro, self.first))


def _drive(coro: Coroutine[Any, Any, T], value: Any) -> Generator[Any, Any, T]:
    """Continue a started coroutine: what `yield from` does (which a coroutine object refuses)."""
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # e.g. the cancellation of the timeout or of the task
            try:
                value = coro.throw(exc)
            except StopIteration as done:
                result: T = done.value
                return result
        else:
            try:
                value = coro.send(sent)
            except StopIteration as done:
                result = done.value
                return result


def within(awaitable: Awaitable[T], when: float | None) -> _Within[T]:
    """Await `awaitable` (usually a coroutine) with the deadline `when` (the loop's clock; None:
    no deadline)."""
    if isinstance(awaitable, CoroutineType):  # a Future (say) cannot be run to its first wait
        return _Within(awaitable, when)
    return _Within(_awaited(awaitable), when)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable
