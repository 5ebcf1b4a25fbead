"""Metrics about the service beyond its calls: sign-in failures, storage errors, the database pool,
and facts about the whole cluster read from the database at scrape time.

Each kind is kept where its truth lives, so that summing over worker processes stays right:
- Things that happen in a process (a failed login, a lockout, a storage error) are counters.
  Under `tvms serve` each worker writes its own to the multiprocess files and a scrape sums them
  (see `tvms.rpc.metrics`), so they never go backwards.
- The database pool is a per-process fact: a gauge with `multiprocess_mode="liveall"`, one
  series per live worker (a `pid` label under `tvms serve`; a dead worker's series are dropped).
  Each process samples its pool every `POOL_SAMPLE_S` seconds, and the scraping one at the scrape.
- Cluster-wide facts (the report queue, sensors by status) are in the database, the same for
  every worker: the API's `scrapes` query them when `/metrics` is read, bounded by
  `SCRAPE_TIMEOUT_S`, and they are never written to the per-process files (which would add one
  copy per worker). `tvms_cluster_metrics_up` says whether they answered in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from tvms.background import running

if TYPE_CHECKING:
    from tvms.db import Database

log = logging.getLogger("tvms.scrape")

POOL_SAMPLE_S = 5.0
SCRAPE_TIMEOUT_S = 1.0
POOL_STATES = ("in_use", "open", "max")
FACTORS = ("password", "mfa")
STORAGE_OPERATIONS = ("check", "put", "get", "stat", "sha256", "delete", "list")

S = TypeVar("S")
Scrape = Callable[[S], Awaitable[Iterable[Metric]]]
"""Cluster-wide metrics read from the database when `/metrics` is scraped (cheap indexed queries)."""


class ServiceMetrics:
    """The counters and the pool gauge, registered in `registry` (the call metrics' own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        self.login_failures = Counter(
            "tvms_login_failures",
            "Sign-in checks that failed (wrong password or unknown address; wrong second-factor code).",
            ("factor",),
            registry=self.registry,
        )
        self.login_lockouts = Counter(
            "tvms_login_lockouts",
            "Addresses (factor=password) or second factors (factor=mfa) locked after too many failures.",
            ("factor",),
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "tvms_storage_errors",
            "Failures of the object store itself (unreachable, refused, I/O) by Storage operation.",
            ("operation",),
            registry=self.registry,
        )
        self.db_pool = Gauge(
            "tvms_db_pool_connections",
            "Database connections of one worker process: in use, open, and the most it will open.",
            ("state",),
            multiprocess_mode="liveall",
            registry=self.registry,
        )

        # Every known series from the start, at 0, so that a rate over the first failure is right.
        for factor in FACTORS:
            self.login_failures.labels(factor)
            self.login_lockouts.labels(factor)
        for operation in STORAGE_OPERATIONS:
            self.storage_errors.labels(operation)

    def login_failed(self, factor: str) -> None:
        self.login_failures.labels(factor).inc()

    def locked_out(self, factor: str) -> None:
        self.login_lockouts.labels(factor).inc()

    def storage_failed(self, operation: str) -> None:
        self.storage_errors.labels(operation).inc()

    def sample_pool(self, db: Database) -> None:
        """Set the pool gauge from `db` now."""
        for state, value in zip(POOL_STATES, db.pool_stats(), strict=True):
            self.db_pool.labels(state).set(value)

    @contextlib.asynccontextmanager
    async def sampling(self, db: Database) -> AsyncIterator[None]:
        """Sample the pool every `POOL_SAMPLE_S` seconds for as long as the context is open."""

        async def sample_forever() -> None:
            while True:
                self.sample_pool(db)
                await asyncio.sleep(POOL_SAMPLE_S)

        async with running(sample_forever(), name="tvms-pool-sampler"):
            yield


class _Families:
    """A collector that yields metric families computed beforehand."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


async def cluster_families(
    scrapes: Sequence[Scrape[S]], services: S, *, limit_s: float = SCRAPE_TIMEOUT_S
) -> CollectorRegistry:
    """A registry holding what `scrapes` report now, plus `tvms_cluster_metrics_up`.

    Past `limit_s` seconds (or when the database fails) the cluster metrics are left out and `up` is 0:
    a slow database must not hang the scrape of the process metrics.
    """
    families: list[Metric] = []
    up = 1.0
    if scrapes:
        try:
            async with asyncio.timeout(limit_s):
                for scrape in scrapes:
                    families.extend(await scrape(services))
        except Exception as exc:  # TimeoutError or a DatabaseError: the scrape goes on without them
            up = 0.0
            families = []
            log.warning("cluster metrics unavailable: %s: %s", type(exc).__name__, str(exc)[:200])
    families.append(
        GaugeMetricFamily(
            "tvms_cluster_metrics_up",
            "1 when the cluster-wide metrics (read from the database at scrape time) answered in time.",
            value=up,
        )
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return registry
