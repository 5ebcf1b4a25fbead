"""Storing device metric samples, reading them per bucket, and the retention job.

A batch goes in as multi-row INSERTs (a few hundred rows per statement) with ON CONFLICT DO
NOTHING on (sensor_id, at): one round trip per chunk, and a retried batch stores nothing twice.
Retention deletes the oldest rows in bounded chunks so that no statement holds the writer long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from procedures.metrics.schemas import METRICS
from tvms.background import running
from tvms.db import Database, Transaction
from tvms.rpc import Services

log = logging.getLogger("tvms.metrics")

COLUMNS = ("sensor_id", "at", *METRICS)
ROWS_PER_STATEMENT = 200  # 11 parameters a row: well under either engine's parameter limit
RETENTION_DAYS = 90
RETENTION_CHUNK = 5_000
RETENTION_EVERY_S = 3_600.0
DAY_MS = 86_400_000


async def insert_samples(tx: Transaction, rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows` (dicts keyed by COLUMNS); returns how many were new."""
    inserted = 0
    for first in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[first : first + ROWS_PER_STATEMENT]
        params: dict[str, Any] = {}
        values = []
        for n, row in enumerate(chunk):
            values.append("(" + ", ".join(f":{c}_{n}" for c in COLUMNS) + ")")
            params.update({f"{c}_{n}": row[c] for c in COLUMNS})
        inserted += await tx.execute(
            f"INSERT INTO device_metrics ({', '.join(COLUMNS)}) VALUES {', '.join(values)}"
            " ON CONFLICT (sensor_id, at) DO NOTHING",
            params,
        )
    return inserted


def slot_query() -> str:
    """Per SQL slot (`at / :slot`): the sample count and, per metric, count, sum, min and max."""
    parts = ["at / :slot AS slot", "COUNT(*) AS n"]
    for metric in METRICS:
        value = f"(CASE WHEN {metric} THEN 1.0 ELSE 0.0 END)" if metric == "recording" else metric
        parts += [
            f"COUNT({metric}) AS {metric}_n",
            f"SUM({value}) AS {metric}_sum",
            f"MIN({value}) AS {metric}_min",
            f"MAX({value}) AS {metric}_max",
        ]
    return (
        f"SELECT {', '.join(parts)} FROM device_metrics"
        " WHERE sensor_id = :sensor_id AND at >= :start AND at < :end GROUP BY at / :slot"
    )


async def delete_old_samples(db: Database, before_ms: int, chunk: int = RETENTION_CHUNK) -> int:
    """Delete every sample older than `before_ms`, `chunk` rows per statement; returns how many."""
    total = 0
    while True:
        deleted = await db.execute(
            "DELETE FROM device_metrics WHERE (sensor_id, at) IN (SELECT sensor_id, at FROM device_metrics"
            " WHERE at < :before ORDER BY at LIMIT :chunk)",
            {"before": before_ms, "chunk": chunk},
        )
        total += deleted
        if deleted < chunk:
            return total
        await asyncio.sleep(0)  # let other writers in between chunks


_RETENTION_FIELDS = {"fields": {"job": "metrics.retention"}}


@contextlib.asynccontextmanager
async def metrics_retention(services: Services) -> AsyncIterator[None]:
    """Deletes samples older than RETENTION_DAYS, once an hour, in bounded chunks."""

    async def run_forever() -> None:
        while True:
            try:
                cutoff = services.clock.now_ms() - RETENTION_DAYS * DAY_MS
                deleted = await delete_old_samples(services.db, cutoff)
                if deleted:
                    log.info(
                        "metrics retention: deleted %d samples (> %d days old)",
                        deleted,
                        RETENTION_DAYS,
                        extra=_RETENTION_FIELDS,
                    )
            except Exception:
                log.exception("the metrics retention job failed; trying again later", extra=_RETENTION_FIELDS)
            await asyncio.sleep(RETENTION_EVERY_S)

    async with running(run_forever(), name="tvms-metrics-retention"):
        yield
