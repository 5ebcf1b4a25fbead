"""`metrics.*`: device health samples (ingested by devices) and their bucketed aggregates."""

from __future__ import annotations

from procedures.commands.device import family
from procedures.events.schemas import to_ms
from procedures.metrics.schemas import (
    METRICS,
    IngestMetricsInput,
    IngestMetricsResult,
    Series,
    SeriesBucket,
    SeriesInput,
    Stat,
)
from procedures.metrics.store import delete_old_samples, insert_samples, metrics_retention, slot_query
from procedures.reports.buckets import TooManyBuckets, make_buckets
from procedures.system.timezone import timezone_settings
from tvms.clock import iso_ms
from tvms.rpc import DEVICE, Context, ErrorCode, Router, RpcError, invalid_params, roles

__all__ = ["delete_old_samples", "metrics", "metrics_retention"]

metrics = Router("metrics")
MAX_AGE_MS = 30 * 86_400_000  # an agent's buffer older than this is not worth a chart
MAX_FUTURE_MS = 5 * 60_000  # device clocks drift; beyond this the timestamp is wrong
MAX_BUCKETS = 2_000


@metrics.mutation("ingest", auth=DEVICE)
async def ingest(ctx: Context, input: IngestMetricsInput) -> IngestMetricsResult:
    """Store up to 1,000 health samples of this device or (a gateway) of its children.

    A sample without `deviceId` is the caller's own. Sending a sample again (same device, same
    `at`) is harmless: it counts as a duplicate. Samples older than 30 days are refused.
    """
    if ctx.principal is None:  # the DEVICE rule guarantees one; this narrows the type
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    me = ctx.principal.id
    by_device = {device_id: sensor_id for sensor_id, device_id in (await family(ctx, me)).items()}
    now = ctx.clock.now_ms()
    rows = []
    for index, sample in enumerate(input.samples):
        sensor_id = me if sample.device_id is None else by_device.get(sample.device_id)
        if sensor_id is None:
            raise invalid_params(f"$.samples[{index}].deviceId", "not this device nor one of its children")
        at = to_ms(sample.at)
        if not now - MAX_AGE_MS <= at <= now + MAX_FUTURE_MS:
            raise invalid_params(f"$.samples[{index}].at", "outside the accepted range (30 days ago to now)")
        rows.append({"sensor_id": sensor_id, "at": at, **{m: getattr(sample, m) for m in METRICS}})
    async with ctx.db.transaction() as tx:
        accepted = await insert_samples(tx, rows)
    return IngestMetricsResult(accepted=accepted, duplicates=len(rows) - accepted)


@metrics.query("getSeries", auth=roles("VIEWER", "OPERATOR", "ADMIN"))
async def get_series(ctx: Context, input: SeriesInput) -> Series:
    """A sensor's samples in `[from, to)` as hourly, daily, weekly or monthly buckets.

    Buckets follow the local calendar of the system time zone (a daylight-saving day has 23 or
    25 hourly buckets). Each metric gives avg/min/max, or null when the bucket has no value;
    `recording` is the share of samples that were recording.
    """
    exists = await ctx.db.fetchval("SELECT 1 FROM sensors WHERE id = :id", {"id": input.sensor_id})
    if exists is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"Sensor {input.sensor_id!r} not found")
    settings = await timezone_settings(ctx)
    start, end = to_ms(input.from_), to_ms(input.to)
    try:
        buckets = make_buckets(
            start, end, input.group_by, settings.timezone, settings.first_day_of_week, limit=MAX_BUCKETS
        )
    except TooManyBuckets:
        raise invalid_params("$.groupBy", f"the period holds more than {MAX_BUCKETS} buckets") from None
    sums: list[dict[str, list[float]]] = [{} for _ in buckets.items]
    counts = [0] * len(buckets.items)
    rows = await ctx.db.fetch(
        slot_query(), {"sensor_id": input.sensor_id, "start": start, "end": end, "slot": buckets.slot_ms}
    )
    for row in rows:
        index = buckets.bucket_of(int(row["slot"]))
        counts[index] += int(row["n"])
        for metric in METRICS:
            n = int(row[f"{metric}_n"])
            if not n:
                continue
            value = sums[index].setdefault(metric, [0, 0.0, float("inf"), float("-inf")])
            value[0] += n
            value[1] += float(row[f"{metric}_sum"])
            value[2] = min(value[2], float(row[f"{metric}_min"]))
            value[3] = max(value[3], float(row[f"{metric}_max"]))

    def stat(index: int, metric: str) -> Stat | None:
        value = sums[index].get(metric)
        if value is None:
            return None
        return Stat(avg=round(value[1] / value[0], 3), min=value[2], max=value[3])

    return Series(
        sensor_id=input.sensor_id,
        timezone=settings.timezone,
        group_by=input.group_by,
        buckets=[
            SeriesBucket(
                start=iso_ms(bucket.start),
                end=iso_ms(bucket.end),
                label=bucket.label,
                samples=counts[index],
                **{metric: stat(index, metric) for metric in METRICS},
            )
            for index, bucket in enumerate(buckets.items)
        ],
    )
