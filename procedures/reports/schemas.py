"""Wire types of `reports.*`: analytics inputs and results, generated reports."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from procedures.events.schemas import EventType, ReviewStatus, Timestamp
from procedures.reports.buckets import GroupBy
from procedures.schemas import Input, IsoTime, Output

ReportType = Literal["VIOLATIONS_SUMMARY", "TRAFFIC_VOLUME", "SENSOR_UPTIME", "EVENTS_EXPORT"]
ReportFormat = Literal["CSV", "JSON", "PDF"]
ReportStatus = Literal["QUEUED", "RUNNING", "READY", "FAILED"]

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Share = Annotated[
    float, msgspec.Meta(ge=0, le=1, description="Share of the time the sensors in scope were ONLINE")
]


class PeriodInput(Input):
    """A period of ISO-8601 instants with an offset. Both bounds are inclusive, as in
    `events.getAll`, so the same `from`/`to` select the same events there and here."""

    from_: Timestamp = msgspec.field(name="from")
    to: Timestamp

    def __post_init__(self) -> None:
        if self.to <= self.from_:
            raise ValueError("`to` must be after `from`")


class OptionalPeriodInput(Input):
    """Either bound may be left out (dashboard: today in the system time zone until now)."""

    from_: Timestamp | None = msgspec.field(default=None, name="from")
    to: Timestamp | None = None

    def __post_init__(self) -> None:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("`to` must be after `from`")


class ViolationStatsInput(PeriodInput):
    group_by: GroupBy
    type: EventType | None = None
    location_id: Id | None = None


class TrafficVolumeInput(PeriodInput):
    group_by: GroupBy
    location_id: Id | None = None
    sensor_id: Id | None = None


class HotspotsInput(PeriodInput):
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10


class SensorUptimeInput(PeriodInput):
    pass


class TypeCount(Output):
    type: str
    count: int


class ReviewCounts(Output):
    pending: int
    confirmed: int
    rejected: int


class ViolationBucket(Output):
    start: IsoTime
    end: IsoTime
    label: str
    count: int
    coverage: Share | None
    by_type: list[TypeCount]


class ViolationStats(Output):
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    group_by: GroupBy
    timezone: str
    total: int
    coverage: Share | None
    by_type: list[TypeCount]
    by_review: ReviewCounts
    buckets: list[ViolationBucket]


class VolumeBucket(Output):
    start: IsoTime
    end: IsoTime
    label: str
    count: int
    average_speed_kmh: float | None
    coverage: Share | None


class ClassCount(Output):
    vehicle_class: str | None
    count: int


class TrafficVolume(Output):
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    group_by: GroupBy
    timezone: str
    total: int
    average_speed_kmh: float | None
    coverage: Share | None
    by_vehicle_class: list[ClassCount]
    buckets: list[VolumeBucket]


class Hotspot(Output):
    location_id: str
    name: str
    latitude: float | None
    longitude: float | None
    violations: int
    by_type: list[TypeCount]
    coverage: Share | None


class Hotspots(Output):
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    hotspots: list[Hotspot]


class SensorUptime(Output):
    sensor_id: str
    name: str
    device_id: str
    type: str
    status: str
    location_id: str | None
    uptime: Share | None
    online_ms: int
    observed_ms: int
    status_changes: int


class UptimeReport(Output):
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    uptime: Share | None
    sensors: list[SensorUptime]


class SensorCounts(Output):
    total: int
    online: int
    offline: int
    maintenance: int
    error: int


class DashboardStats(Output):
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    timezone: str
    total_events: int
    total_violations: int
    pending_reviews: int
    violations_by_type: list[TypeCount]
    sensors: SensorCounts
    coverage: Share | None


# --- generated reports ---------------------------------------------------------------------


class ReportFilters(Input):
    """Optional narrowing; `groupBy` is for the summaries (default `day`)."""

    group_by: GroupBy = "day"
    types: Annotated[list[EventType], msgspec.Meta(max_length=15)] | None = None
    sensor_id: Id | None = None
    location_id: Id | None = None
    review_status: ReviewStatus | None = None


class GenerateInput(PeriodInput):
    type: ReportType
    format: ReportFormat
    filters: ReportFilters | None = None


class GenerateResult(Output):
    id: str
    status: ReportStatus


class Report(Output):
    id: str
    type: ReportType
    format: ReportFormat
    status: ReportStatus
    progress: Annotated[int, msgspec.Meta(ge=0, le=100)]
    from_: IsoTime = msgspec.field(name="from")
    to: IsoTime
    timezone: str
    filters: ReportFilters
    created_by: str
    created_at: IsoTime
    started_at: IsoTime | None
    finished_at: IsoTime | None
    size_bytes: int | None
    row_count: int | None
    error: str | None
    file_key: str | None


class ReportsInput(Input):
    skip: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    status: ReportStatus | None = None
    type: ReportType | None = None


class ReportPage(Output):
    reports: list[Report]
    total: int
    page_count: int


class IdInput(Input):
    id: Id


class DownloadUrl(Output):
    url: str
    expires_at: IsoTime


class Deleted(Output):
    id: str
    deleted: bool
