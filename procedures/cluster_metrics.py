"""Cluster-wide metrics read from the database when `/metrics` is scraped.

Each is one cheap query on an index (`reports_status_idx`, `sensors_status_idx`), the same answer
from whichever worker or replica is scraped (see `tvms.rpc.service_metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from procedures.sensors.schemas import SENSOR_STATUSES
from tvms.rpc import Services


async def report_queue(services: Services) -> Iterable[Metric]:
    """How many reports wait in the queue, and for how long the oldest has."""
    row = await services.db.fetchrow(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM reports WHERE status = 'QUEUED'"
    )
    depth = 0 if row is None else int(row["n"])
    oldest = None if row is None else row["oldest"]
    age_s = 0.0 if oldest is None else max(0.0, (services.clock.now_ms() - int(oldest)) / 1000)
    return [
        GaugeMetricFamily("tvms_report_queue_depth", "Reports waiting in the queue (QUEUED).", value=depth),
        GaugeMetricFamily(
            "tvms_report_queue_oldest_age_seconds",
            "Age of the oldest queued report (since it was requested); 0 when the queue is empty.",
            value=age_s,
        ),
    ]


async def sensors_by_status(services: Services) -> Iterable[Metric]:
    """Sensors (not deleted) by status; every status is present, 0 when none has it."""
    rows = await services.db.fetch(
        "SELECT status, COUNT(*) AS n FROM sensors WHERE deleted_at IS NULL GROUP BY status"
    )
    counts: dict[str, int] = dict.fromkeys(SENSOR_STATUSES, 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + int(row["n"])
    family = GaugeMetricFamily("tvms_sensors", "Sensors (not deleted) by status.", labels=("status",))
    for status, count in counts.items():
        family.add_metric((status,), count)
    return [family]


SCRAPES = (report_queue, sensors_by_status)
