"""Buckets in the system time zone: DST days, half-hour offsets, week starts, SQL slots."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from procedures.reports.buckets import DAY_MS, HOUR_MS, TooManyBuckets, local_day_start, make_buckets


def local_ms(text: str, zone: str, fold: int = 0) -> int:
    """Epoch ms of a local wall time in `zone`."""
    moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone), fold=fold)
    return int(moment.timestamp() * 1000)


def day_bounds(day: str, zone: str) -> tuple[int, int]:
    start = datetime.fromisoformat(day).date()
    return local_ms(f"{start}T00:00", zone), local_ms(f"{start + timedelta(days=1)}T00:00", zone)


def test_berlin_spring_forward_day_has_23_hourly_buckets() -> None:
    buckets = make_buckets(*day_bounds("2024-03-31", "Europe/Berlin"), "hour", "Europe/Berlin")
    labels = [b.label for b in buckets.items]
    assert len(buckets.items) == 23
    assert labels[:3] == ["2024-03-31T00:00+01:00", "2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00"]
    assert all(b.end - b.start == HOUR_MS for b in buckets.items)


def test_berlin_autumn_day_has_25_hourly_buckets_with_the_repeated_hour_twice() -> None:
    buckets = make_buckets(*day_bounds("2024-10-27", "Europe/Berlin"), "hour", "Europe/Berlin")
    labels = [b.label for b in buckets.items]
    assert len(buckets.items) == 25
    assert labels[2:4] == ["2024-10-27T02:00+02:00", "2024-10-27T02:00+01:00"]
    assert all(b.end - b.start == HOUR_MS for b in buckets.items)


def test_dst_days_are_one_daily_bucket_of_23_and_25_hours() -> None:
    start = local_ms("2024-03-30T00:00", "Europe/Berlin")
    end = local_ms("2024-04-01T00:00", "Europe/Berlin")
    spring = make_buckets(start, end, "day", "Europe/Berlin").items
    assert [b.label for b in spring] == ["2024-03-30", "2024-03-31"]
    assert [(b.end - b.start) // HOUR_MS for b in spring] == [24, 23]
    autumn = make_buckets(*day_bounds("2024-10-27", "Europe/Berlin"), "day", "Europe/Berlin").items
    assert [(b.end - b.start) // HOUR_MS for b in autumn] == [25]


def test_buckets_are_contiguous_and_cover_the_period() -> None:
    start = local_ms("2024-01-01T00:00", "Europe/Berlin") + 1234
    end = local_ms("2025-01-01T00:00", "Europe/Berlin") - 99
    buckets = make_buckets(start, end, "hour", "Europe/Berlin").items
    assert buckets[0].start == start and buckets[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(buckets))
    assert len(buckets) == 366 * 24  # 2024 is a leap year; the two DST days cancel out


def test_kolkata_half_hour_offset_buckets_start_at_local_midnight() -> None:
    start, end = local_ms("2024-01-01T00:00", "Asia/Kolkata"), local_ms("2024-01-03T00:00", "Asia/Kolkata")
    buckets = make_buckets(start, end, "day", "Asia/Kolkata")
    assert [b.label for b in buckets.items] == ["2024-01-01", "2024-01-02"]
    # Local midnight is 18:30 UTC the day before.
    assert buckets.items[1].start % DAY_MS == DAY_MS - 5 * HOUR_MS - 30 * 60_000
    assert buckets.slot_ms == HOUR_MS // 2
    hourly = make_buckets(start, start + 3 * HOUR_MS, "hour", "Asia/Kolkata").items
    assert [b.label for b in hourly] == [
        "2024-01-01T00:00+05:30",
        "2024-01-01T01:00+05:30",
        "2024-01-01T02:00+05:30",
    ]


def test_kathmandu_quarter_hour_offset_uses_quarter_hour_slots() -> None:
    start, end = day_bounds("2024-05-01", "Asia/Kathmandu")
    buckets = make_buckets(start, end, "hour", "Asia/Kathmandu")
    assert len(buckets.items) == 24
    assert buckets.slot_ms == HOUR_MS // 4


@pytest.mark.parametrize(("first_day", "expected"), [(1, "2024-01-08"), (0, "2024-01-07"), (6, "2024-01-06")])
def test_weeks_start_on_the_first_day_of_week(first_day: int, expected: str) -> None:
    # 2024-01-10 is a Wednesday.
    start, end = local_ms("2024-01-10T12:00", "UTC"), local_ms("2024-01-20T12:00", "UTC")
    buckets = make_buckets(start, end, "week", "UTC", first_day).items
    assert buckets[1].label == (datetime.fromisoformat(expected).date() + timedelta(days=7)).isoformat()
    assert buckets[0].label == expected
    assert buckets[0].start == start  # clipped to the period


def test_months_in_a_zone_with_dst() -> None:
    start, end = local_ms("2024-01-01T00:00", "Europe/Berlin"), local_ms("2025-01-01T00:00", "Europe/Berlin")
    buckets = make_buckets(start, end, "month", "Europe/Berlin")
    assert [b.label for b in buckets.items] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert buckets.items[3].start == local_ms("2024-04-01T00:00", "Europe/Berlin")
    assert buckets.slot_ms == HOUR_MS


def test_utc_days_group_by_whole_days() -> None:
    buckets = make_buckets(0, 30 * DAY_MS, "day", "UTC")
    assert len(buckets.items) == 30 and buckets.slot_ms == DAY_MS


def test_every_slot_maps_to_the_bucket_holding_its_instants() -> None:
    start = local_ms("2024-10-26T13:17", "Europe/Berlin")
    end = local_ms("2024-10-28T05:00", "Europe/Berlin")
    buckets = make_buckets(start, end, "hour", "Europe/Berlin")
    for instant in range(start, end, 7 * 60_000 + 13):
        index = buckets.bucket_of(instant // buckets.slot_ms)
        bucket = buckets.items[index]
        assert bucket.start <= instant < bucket.end


def test_a_zone_with_a_midnight_gap_starts_the_day_at_the_transition() -> None:
    # America/Santiago moved clocks from 00:00 to 01:00 on 2024-09-08.
    zone = "America/Santiago"
    start, end = local_ms("2024-09-07T00:00", zone), local_ms("2024-09-09T00:00", zone)
    buckets = make_buckets(start, end, "day", zone).items
    assert [b.label for b in buckets] == ["2024-09-07", "2024-09-08"]
    assert (buckets[1].end - buckets[1].start) // HOUR_MS == 23
    assert local_day_start(buckets[1].start + 5 * HOUR_MS, zone) == buckets[1].start


def test_bad_periods_and_too_many_buckets_are_refused() -> None:
    with pytest.raises(ValueError):
        make_buckets(10, 10, "day", "UTC")
    with pytest.raises(TooManyBuckets):
        make_buckets(0, 400 * DAY_MS, "hour", "UTC", limit=1000)
