"""Coverage from the status history, without a database."""

from __future__ import annotations

from procedures.reports.buckets import HOUR_MS, make_buckets
from procedures.reports.coverage import SensorHistory, coverage, integrate, online_intervals

H = HOUR_MS


def history(**kwargs: object) -> SensorHistory:
    values: dict[str, object] = {
        "sensor_id": "s1",
        "created_at": 0,
        "current_status": "ONLINE",
        "status_before": None,
    }
    values.update(kwargs)
    return SensorHistory(**values)  # type: ignore[arg-type]


def test_integrate_a_step_function_over_buckets() -> None:
    buckets = make_buckets(0, 4 * H, "hour", "UTC").items
    steps = [(H // 2, 1), (2 * H, 1), (3 * H + H // 4, -2)]
    assert integrate(buckets, steps) == [H // 2, H, 2 * H, 2 * (H // 4)]


def test_an_offline_gap_lowers_the_coverage_of_its_buckets_only() -> None:
    sensor = history(
        status_before="ONLINE", changes=[(H + H // 2, "ONLINE", "OFFLINE"), (3 * H, "OFFLINE", "ONLINE")]
    )
    result = coverage(make_buckets(0, 4 * H, "hour", "UTC").items, [sensor], now=10 * H)
    assert result.per_bucket == [1.0, 0.5, 0.0, 1.0]
    assert result.overall == 0.625


def test_two_sensors_share_the_bucket() -> None:
    online = history(sensor_id="a", status_before="ONLINE")
    offline = history(sensor_id="b", status_before="OFFLINE", current_status="OFFLINE")
    result = coverage(make_buckets(0, 2 * H, "hour", "UTC").items, [online, offline], now=10 * H)
    assert result.per_bucket == [0.5, 0.5]


def test_status_before_the_first_change_is_its_from_status() -> None:
    sensor = history(current_status="OFFLINE", changes=[(H, "ONLINE", "OFFLINE")])
    assert online_intervals(sensor, 0, 2 * H) == [(0, H)]
    never_changed = history(current_status="MAINTENANCE")
    assert online_intervals(never_changed, 0, 2 * H) == []


def test_time_before_creation_and_after_now_is_not_counted() -> None:
    sensor = history(created_at=H, status_before=None)
    result = coverage(make_buckets(0, 4 * H, "hour", "UTC").items, [sensor], now=2 * H + H // 2)
    assert result.per_bucket == [None, 1.0, 1.0, None]
    assert result.observed_ms == [0, H, H // 2, 0]


def test_no_sensor_in_scope_means_no_coverage() -> None:
    result = coverage(make_buckets(0, 2 * H, "hour", "UTC").items, [], now=10 * H)
    assert result.per_bucket == [None, None] and result.overall is None


def test_a_silent_sensor_left_online_goes_offline_after_its_heartbeat_timeout() -> None:
    sensor = history(status_before="ONLINE", last_heartbeat_at=H, heartbeat_timeout_ms=H // 2)
    assert online_intervals(sensor, 0, 4 * H) == [(0, H + H // 2)]


def test_a_deleted_sensor_stops_counting_when_deleted() -> None:
    sensor = history(status_before="ONLINE", deleted_at=H)
    result = coverage(make_buckets(0, 2 * H, "hour", "UTC").items, [sensor], now=10 * H)
    assert result.per_bucket == [1.0, None]
