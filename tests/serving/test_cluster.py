"""The periodic-work lock on each engine: one holder at a time, handed on when it lets go."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tvms import cluster
from tvms.cluster import AdvisoryLock, FileLock, cluster_lock, once_per_cluster


async def test_one_holder_at_a_time(database_url: str) -> None:
    first, second = cluster_lock(database_url), cluster_lock(database_url)
    expected = AdvisoryLock if database_url.startswith("postgresql") else FileLock
    assert isinstance(first, expected) and isinstance(second, expected)
    try:
        assert await first.acquire()
        assert await first.acquire()  # asking again while holding it is harmless
        assert not await second.acquire()
        assert await first.held()
        await first.release()
        assert await second.acquire()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()


async def test_the_periodic_work_moves_when_its_holder_stops(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "RETRY_S", 0.05)
    running: list[str] = []

    def hook(name: str) -> Any:
        @contextlib.asynccontextmanager
        async def run(services: object) -> AsyncIterator[None]:
            running.append(name)
            try:
                yield
            finally:
                running.remove(name)

        return run

    services: Any = object()
    async with contextlib.AsyncExitStack() as first:
        await first.enter_async_context(once_per_cluster(cluster_lock(database_url), [hook("a")], services))
        assert running == ["a"]  # started before the app serves
        async with once_per_cluster(cluster_lock(database_url), [hook("b")], services):
            await asyncio.sleep(0.3)
            assert running == ["a"]  # never both
            await first.aclose()
            for _ in range(100):
                if running == ["b"]:
                    break
                await asyncio.sleep(0.05)
            assert running == ["b"]
        assert running == []
