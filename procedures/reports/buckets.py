"""Time buckets in the system time zone: hours, days, weeks and months of local wall-clock time.

A bucket is a half-open UTC interval `[start, end)` in epoch milliseconds. Boundaries are the
instants where the local period changes, so a Europe/Berlin spring-forward day has 23 hourly
buckets and the autumn day 25 (the repeated hour is two buckets, told apart by their offset),
and zones with half- or quarter-hour offsets (Asia/Kolkata, Asia/Kathmandu) bucket on their own
local hours. The first and last buckets are clipped to the requested period.

Counting stays in SQL and stays portable: the database groups rows by `occurred_at / slot`
(integer division), where `slot` is the largest common step of all inner bucket boundaries
(one hour in most zones, 30 minutes in Kolkata, a day for UTC days), and `bucket_of` maps each
slot to its bucket here. That is exact, because no boundary ever falls inside a slot.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

GroupBy = Literal["hour", "day", "week", "month"]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# Steps tried for the SQL slot, largest first; every zone's boundaries fit one of them.
_SLOTS = (DAY_MS, HOUR_MS, HOUR_MS // 2, HOUR_MS // 4, 60_000, 1_000, 1)
# Offsets in use change at most a few times a year; sampling every 3 hours finds each change.
_SAMPLE_MS = 3 * HOUR_MS


class TooManyBuckets(ValueError):
    """The period holds more buckets than `limit`."""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: int  # epoch ms, inclusive
    end: int  # epoch ms, exclusive
    label: str  # the local period: "2024-03-31T03:00+02:00", "2024-03-31", "2024-03"


@dataclass(frozen=True, slots=True)
class Buckets:
    items: list[Bucket]
    slot_ms: int  # the SQL grouping step (see the module docstring)
    starts: list[int]  # items[i].start, for bisection

    def bucket_of(self, slot: int) -> int:
        """Index of the bucket holding SQL slot number `slot` (`occurred_at // slot_ms`)."""
        return self.index_at(slot * self.slot_ms)

    def index_at(self, epoch_ms: int) -> int:
        """Index of the bucket holding the instant `epoch_ms` (clamped to the first bucket)."""
        return max(bisect.bisect_right(self.starts, epoch_ms) - 1, 0)


def _local(epoch_ms: int, zone: ZoneInfo) -> datetime:
    # Whole seconds are enough: offsets change, and periods start, on whole seconds.
    return datetime.fromtimestamp(epoch_ms // 1000, zone)


def _offset_ms(epoch_ms: int, zone: ZoneInfo) -> int:
    offset = _local(epoch_ms, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)


def _week_start(day: date, first_day_of_week: int) -> date:
    # date.weekday(): Monday = 0; the setting: Sunday = 0.
    sunday_based = (day.weekday() + 1) % 7
    return day - timedelta(days=(sunday_based - first_day_of_week) % 7)


def _key(moment: datetime, group_by: GroupBy, first_day_of_week: int) -> tuple[object, ...]:
    if group_by == "hour":
        # The offset is part of the key: the repeated autumn hour is two buckets, not one.
        return (moment.date(), moment.hour, moment.utcoffset())
    if group_by == "day":
        return (moment.date(),)
    if group_by == "week":
        return (_week_start(moment.date(), first_day_of_week),)
    return (moment.year, moment.month)


def _label(moment: datetime, group_by: GroupBy, first_day_of_week: int) -> str:
    if group_by == "hour":
        offset = moment.strftime("%z")
        return f"{moment:%Y-%m-%dT%H}:00{offset[:3]}:{offset[3:]}"
    if group_by == "day":
        return moment.date().isoformat()
    if group_by == "week":
        return _week_start(moment.date(), first_day_of_week).isoformat()
    return f"{moment:%Y-%m}"


def _transitions(start: int, end: int, zone: ZoneInfo) -> Iterator[tuple[int, int]]:
    """(instant, offset after it) for each UTC-offset change in (start, end)."""
    low, low_offset = start, _offset_ms(start, zone)
    while low < end:
        high = min(low + _SAMPLE_MS, end)
        high_offset = _offset_ms(high, zone)
        if high_offset != low_offset:
            # Binary search to the second (offsets change on whole seconds).
            a, b = low // 1000, high // 1000
            while b - a > 1:
                middle = (a + b) // 2
                if _offset_ms(middle * 1000, zone) == low_offset:
                    a = middle
                else:
                    b = middle
            if start < b * 1000 < end:
                yield b * 1000, high_offset
        low, low_offset = high, high_offset


def _candidates(start: int, end: int, zone: ZoneInfo, group_by: GroupBy) -> list[int]:
    """Instants in (start, end) where the local period may change: each offset change, and the
    local unit boundaries (top of the hour, midnight) inside each constant-offset stretch."""
    unit = HOUR_MS if group_by == "hour" else DAY_MS
    segments: list[tuple[int, int, int]] = []
    seg_start, seg_offset = start, _offset_ms(start, zone)
    points: list[int] = []
    for instant, offset in _transitions(start, end, zone):
        segments.append((seg_start, instant, seg_offset))
        points.append(instant)
        seg_start, seg_offset = instant, offset
    segments.append((seg_start, end, seg_offset))
    for low, high, offset in segments:
        # Smallest t >= low with (t + offset) on a unit boundary of local wall time.
        t = -((-(low + offset)) // unit) * unit - offset
        while t < high:
            if t > start:
                points.append(t)
            t += unit
    return sorted(set(points))


def make_buckets(
    start: int,
    end: int,
    group_by: GroupBy,
    zone_name: str,
    first_day_of_week: int = 1,
    *,
    limit: int = 10_000,
) -> Buckets:
    """The buckets covering `[start, end)` (epoch ms) in the zone, first and last clipped."""
    if end <= start:
        raise ValueError("the period must end after it starts")
    zone = ZoneInfo(zone_name)
    items: list[Bucket] = []
    current_start = start
    current_moment = _local(start, zone)
    current_key = _key(current_moment, group_by, first_day_of_week)
    for instant in _candidates(start, end, zone, group_by):
        moment = _local(instant, zone)
        key = _key(moment, group_by, first_day_of_week)
        if key == current_key:
            continue
        items.append(Bucket(current_start, instant, _label(current_moment, group_by, first_day_of_week)))
        if len(items) >= limit:
            raise TooManyBuckets(f"the period holds more than {limit} buckets")
        current_start, current_moment, current_key = instant, moment, key
    items.append(Bucket(current_start, end, _label(current_moment, group_by, first_day_of_week)))
    starts = [bucket.start for bucket in items]
    slot = next(step for step in _SLOTS if all(edge % step == 0 for edge in starts[1:]))
    return Buckets(items, slot, starts)


def local_day_start(epoch_ms: int, zone_name: str) -> int:
    """The first instant of the local calendar day holding `epoch_ms`."""
    zone = ZoneInfo(zone_name)
    day = _local(epoch_ms, zone).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    # A midnight that does not exist (DST at 00:00) maps, with fold=0, to the transition itself.
    return int(midnight.astimezone(UTC).timestamp()) * 1000
