"""`within(coro, when)`: a timeout that is armed only when the coroutine waits."""

from __future__ import annotations

import asyncio

import pytest

from tvms.rpc.deadline import within


async def _at_once() -> int:
    return 5


async def _after(seconds: float) -> int:
    await asyncio.sleep(seconds)
    return 7


async def _failing() -> None:
    await asyncio.sleep(0)
    raise ValueError("inside")


def _timers() -> int:
    return len(asyncio.get_running_loop()._scheduled)  # type: ignore[attr-defined]


async def test_a_call_that_does_not_wait_schedules_no_timer() -> None:
    before = _timers()
    assert await within(_at_once(), asyncio.get_running_loop().time() + 10) == 5
    assert _timers() == before


async def test_a_call_that_waits_finishes_in_time_or_times_out() -> None:
    loop = asyncio.get_running_loop()
    assert await within(_after(0.01), loop.time() + 10) == 7
    with pytest.raises(TimeoutError):
        await within(_after(10), loop.time() + 0.05)
    with pytest.raises(TimeoutError):  # a deadline already past when the call first waits
        await within(_after(10), loop.time() - 1)
    assert await within(_after(0.01), None) == 7


async def test_errors_and_outside_cancellation_pass_through() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(ValueError, match="inside"):
        await within(_failing(), loop.time() + 10)

    async def waiting() -> int:
        return await within(_after(10), loop.time() + 10)

    task = asyncio.create_task(waiting())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # not a TimeoutError: the deadline did not pass
        await task


async def test_a_future_is_awaited_too() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(future.set_result, 3)
    assert await within(future, asyncio.get_running_loop().time() + 10) == 3
