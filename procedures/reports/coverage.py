"""Coverage: the share of each bucket during which the sensors in scope were ONLINE.

A count of zero means "nothing happened" only when the sensors were watching, so every
count is reported beside its coverage. The history comes from `sensor_status_changes`:
a sensor's status at an instant is the `to_status` of its last change at or before it.

- Before its first recorded change a sensor had that change's `from_status` (or, with no
  change ever, its current status).
- Time before a sensor was created or after it was deleted, and time after now, is not counted at all (neither
  online nor offline): a future bucket has no coverage (None), not 0.
- A sensor left ONLINE whose last heartbeat is older than its timeout reads OFFLINE from
  `last heartbeat + timeout` on, the same rule the sensors router applies when it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from procedures.reports.buckets import Bucket

ONLINE = "ONLINE"


@dataclass(slots=True)
class SensorHistory:
    sensor_id: str
    created_at: int
    current_status: str
    status_before: str | None  # to_status of the last change before the period, if any
    changes: list[tuple[int, str | None, str]] = field(default_factory=list)  # (at, from, to) in period
    last_heartbeat_at: int | None = None
    heartbeat_timeout_ms: int = 180_000
    deleted_at: int | None = None  # sensors are soft-deleted; they stop counting from then on
    location_id: str | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The part of `[start, end)` during which the sensor existed."""
        stop = end if self.deleted_at is None else min(end, self.deleted_at)
        return max(start, self.created_at), stop


def online_intervals(history: SensorHistory, start: int, end: int) -> list[tuple[int, int]]:
    """The sub-intervals of `[start, end)` during which the sensor was ONLINE."""
    begin, end = history.span(start, end)
    if begin >= end:
        return []
    changes = sorted((c for c in history.changes if c[0] < end), key=lambda c: c[0])
    if history.status_before is not None:
        status = history.status_before
    elif changes:
        status = changes[0][1] or "OFFLINE"
    else:
        status = history.current_status
    intervals: list[tuple[int, int]] = []
    cursor = begin
    for at, _from, to in changes:
        at = max(at, begin)
        if status == ONLINE and at > cursor:
            intervals.append((cursor, at))
        cursor = max(cursor, at)
        status = to
    if status == ONLINE and cursor < end:
        last_end = end
        if history.last_heartbeat_at is not None:
            stale_from = history.last_heartbeat_at + history.heartbeat_timeout_ms
            last_end = min(end, max(cursor, stale_from))
        if last_end > cursor:
            intervals.append((cursor, last_end))
    return intervals


def integrate(buckets: Sequence[Bucket], steps: Iterable[tuple[int, int]]) -> list[int]:
    """For the step function that changes by `delta` at each `(instant, delta)`, starting at 0,
    its integral (level times milliseconds) over each bucket. Buckets are contiguous and ascending."""
    points = sorted(steps)
    totals: list[int] = []
    level, i = 0, 0
    for bucket in buckets:
        while i < len(points) and points[i][0] <= bucket.start:
            level += points[i][1]
            i += 1
        total, cursor = 0, bucket.start
        while i < len(points) and points[i][0] < bucket.end:
            instant, delta = points[i]
            total += level * (instant - cursor)
            cursor = instant
            level += delta
            i += 1
        total += level * (bucket.end - cursor)
        totals.append(total)
    return totals


@dataclass(frozen=True, slots=True)
class Coverage:
    per_bucket: list[float | None]  # online share of each bucket, None where nothing was observable
    overall: float | None
    online_ms: list[int]  # sensor-milliseconds online per bucket
    observed_ms: list[int]  # sensor-milliseconds the sensors existed per bucket (up to now)


def _share(online: int, observed: int) -> float | None:
    return None if observed <= 0 else round(online / observed, 4)


def coverage(buckets: Sequence[Bucket], histories: Sequence[SensorHistory], now: int) -> Coverage:
    """Coverage of each bucket by the sensors of `histories` (the sensors in scope)."""
    if not buckets:
        return Coverage([], None, [], [])
    start, end = buckets[0].start, buckets[-1].end
    observable_end = min(end, now)
    online_steps: list[tuple[int, int]] = []
    observed_steps: list[tuple[int, int]] = []
    for history in histories:
        begin, stop = history.span(start, observable_end)
        if begin < stop:
            observed_steps += [(begin, 1), (stop, -1)]
        for a, b in online_intervals(history, start, observable_end):
            online_steps += [(a, 1), (b, -1)]
    online = integrate(buckets, online_steps)
    observed = integrate(buckets, observed_steps)
    return Coverage(
        per_bucket=[_share(a, b) for a, b in zip(online, observed, strict=True)],
        overall=_share(sum(online), sum(observed)),
        online_ms=online,
        observed_ms=observed,
    )
