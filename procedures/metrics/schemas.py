"""Wire types of `metrics.*`: device health samples and their bucketed aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from procedures.schemas import Input, Output

Pct = Annotated[float, msgspec.Meta(ge=0, le=100)]
GroupBy = Literal["hour", "day", "week", "month"]
METRICS = (
    "cpu_pct",
    "memory_pct",
    "disk_pct",
    "temperature_c",
    "uptime_s",
    "fps",
    "bitrate_kbps",
    "recording",
    "storage_used_pct",
)


class Sample(Input):
    """One reading of a device; fields a device does not have are left out."""

    at: datetime
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    cpu_pct: Pct | None = None
    memory_pct: Pct | None = None
    disk_pct: Pct | None = None
    temperature_c: Annotated[float, msgspec.Meta(ge=-60, le=150)] | None = None
    uptime_s: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)] | None = None
    fps: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    bitrate_kbps: Annotated[float, msgspec.Meta(ge=0, le=10_000_000)] | None = None
    recording: bool | None = None
    storage_used_pct: Pct | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("`at` needs a time zone (e.g. 2024-11-15T12:00:00Z)")


class IngestMetricsInput(Input):
    samples: Annotated[list[Sample], msgspec.Meta(min_length=1, max_length=1000)]


class IngestMetricsResult(Output):
    accepted: int
    duplicates: int


class SeriesInput(Input):
    sensor_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    from_: datetime = msgspec.field(name="from")
    to: datetime
    group_by: GroupBy = "hour"

    def __post_init__(self) -> None:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("`from` and `to` need a time zone (e.g. 2024-11-15T12:00:00Z)")
        if self.from_ >= self.to:
            raise ValueError("`from` must be before `to`")


class Stat(Output):
    avg: float
    min: float
    max: float


class SeriesBucket(Output):
    start: str
    end: str
    label: str
    samples: int
    cpu_pct: Stat | None
    memory_pct: Stat | None
    disk_pct: Stat | None
    temperature_c: Stat | None
    uptime_s: Stat | None
    fps: Stat | None
    bitrate_kbps: Stat | None
    recording: Stat | None
    storage_used_pct: Stat | None


class Series(Output):
    sensor_id: str
    timezone: str
    group_by: GroupBy
    buckets: list[SeriesBucket]
