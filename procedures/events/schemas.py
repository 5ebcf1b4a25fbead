"""Wire types of `events.*`: what devices send, what operators read and decide."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from procedures.schemas import Input, IsoTime, Output

EventType = Literal[
    "ANPR_READ",
    "SPEEDING",
    "RED_LIGHT",
    "WRONG_WAY",
    "ILLEGAL_PARKING",
    "LANE_VIOLATION",
    "NO_HELMET",
    "NO_SEATBELT",
    "MOBILE_PHONE",
    "STOPPED_VEHICLE",
    "ACCIDENT",
    "CONGESTION",
    "TRAFFIC_COUNT",
    "CAMERA_TAMPER",
    "VIDEO_LOSS",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
NOT_VIOLATIONS = frozenset(
    {"ANPR_READ", "TRAFFIC_COUNT", "CONGESTION", "ACCIDENT", "CAMERA_TAMPER", "VIDEO_LOSS"}
)
"""Observations and incidents; every other type is a violation that goes through review."""
VIOLATION_TYPES = frozenset(EVENT_TYPES) - NOT_VIOLATIONS

ReviewStatus = Literal["PENDING", "CONFIRMED", "REJECTED"]
EvidenceKind = Literal["OVERVIEW_IMAGE", "PLATE_CROP", "VEHICLE_CROP", "VIDEO_CLIP", "METADATA_JSON"]
EvidenceState = Literal["PENDING_UPLOAD", "VERIFIED", "QUARANTINED"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ATTRIBUTES_BYTES = 4096
MAX_INGEST = 500

Id = Annotated[str, Meta(min_length=1, max_length=128)]
Timestamp = Annotated[datetime, Meta(tz=True)]
Plate = Annotated[str, Meta(min_length=1, max_length=20)]
Short = Annotated[str, Meta(min_length=1, max_length=32)]
Unit = Annotated[float, Meta(ge=0, le=1)]

# Letters of any script and digits, single spaces or hyphens between groups (e.g. "123 ABC 02").
_PLATE = re.compile(r"^[^\W_]+(?:[ -][^\W_]+)*$")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")  # fullmatch: "$" would let a trailing newline through
# Free text from devices: no control characters (a NUL cannot be stored in PostgreSQL text and
# would cut the value short in SQLite's JSON functions).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (exact: no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def normalize_plate(plate: str) -> str:
    """Upper-cased, trimmed; raises ValueError for anything that is not a plate."""
    value = " ".join(plate.split()).upper()
    if not _PLATE.match(value):
        raise ValueError("plate must be letters and digits, groups separated by one space or '-'")
    return value


class EventIn(Input):
    """One traffic event from a device. `deviceId` lets a gateway send for one of its children."""

    external_id: Annotated[str, Meta(min_length=1, max_length=128)]
    type: EventType
    occurred_at: Timestamp
    device_id: Id | None = None
    plate: Plate | None = None
    plate_confidence: Unit | None = None
    speed_kmh: Annotated[float, Meta(ge=0, le=500)] | None = None
    speed_limit_kmh: Annotated[float, Meta(gt=0, le=300)] | None = None
    lane: Annotated[int, Meta(ge=0, le=32)] | None = None
    direction: Short | None = None
    vehicle_class: Short | None = None
    confidence: Unit | None = None
    attributes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not _PRINTABLE.fullmatch(self.external_id):
            raise ValueError("externalId must be printable ASCII without spaces")
        if self.direction is not None and _CONTROL.search(self.direction):
            raise ValueError("direction must not contain control characters")
        if self.vehicle_class is not None and _CONTROL.search(self.vehicle_class):
            raise ValueError("vehicleClass must not contain control characters")
        if self.plate is not None:
            self.plate = normalize_plate(self.plate)
        if self.type == "ANPR_READ" and self.plate is None:
            raise ValueError("an ANPR_READ needs a plate")
        if self.type == "SPEEDING" and self.speed_kmh is None:
            raise ValueError("a SPEEDING event needs speedKmh")
        if self.attributes is not None and len(msgspec.json.encode(self.attributes)) > MAX_ATTRIBUTES_BYTES:
            raise ValueError(f"attributes must encode to at most {MAX_ATTRIBUTES_BYTES} bytes of JSON")


_EVENT_IN_SCHEMA: dict[str, Any] = msgspec.json.schema(EventIn)["$defs"]["EventIn"]


class IngestInput(Input):
    """1 to 500 events. Each item is validated on its own (see `EventIn` for its shape)."""

    events: Annotated[
        list[Annotated[msgspec.Raw, Meta(extra_json_schema=_EVENT_IN_SCHEMA)]],
        Meta(min_length=1, max_length=MAX_INGEST),
    ]


class Receipt(Output):
    external_id: str | None
    status: Literal["CREATED", "DUPLICATE", "REJECTED"]
    id: str | None = None
    error: str | None = None


class IngestResult(Output):
    accepted: int
    duplicates: int
    rejected: int
    receipts: list[Receipt]


class Event(Output):
    id: str
    sensor_id: str
    external_id: str
    type: EventType
    occurred_at: IsoTime
    received_at: IsoTime
    location_id: str | None
    plate: str | None
    corrected_plate: str | None
    plate_confidence: float | None
    speed_kmh: float | None
    speed_limit_kmh: float | None
    lane: int | None
    direction: str | None
    vehicle_class: str | None
    confidence: float | None
    attributes: dict[str, Any] | None
    is_violation: bool
    review_status: ReviewStatus | None
    reviewed_at: IsoTime | None
    reviewed_by: str | None


class GetAllInput(Input):
    """Filters are combined with AND; `plate` matches the read or the corrected plate."""

    from_: Timestamp | None = msgspec.field(default=None, name="from")
    to: Timestamp | None = None
    types: Annotated[list[EventType], Meta(min_length=1, max_length=len(EVENT_TYPES))] | None = None
    sensor_id: Id | None = None
    location_id: Id | None = None
    plate: Plate | None = None
    review_status: ReviewStatus | None = None
    cursor: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    take: Annotated[int, Meta(ge=1, le=500)] = 50

    def __post_init__(self) -> None:
        if self.plate is not None:
            self.plate = normalize_plate(self.plate)
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from must not be after to")


class EventPage(Output):
    events: list[Event]
    next_cursor: str | None


class ById(Input):
    id: Id


class Evidence(Output):
    id: str
    event_id: str
    kind: EvidenceKind
    state: EvidenceState
    key: str
    content_type: str
    size: int
    sha256: str
    created_at: IsoTime
    completed_at: IsoTime | None
    download_url: str | None
    """Only for VERIFIED items (a quarantined file is never served as evidence)."""
    expires_at: IsoTime | None


class EventDetail(Event):
    evidence: list[Evidence]


class ReviewInput(Input):
    id: Id
    decision: Literal["CONFIRM", "REJECT"]
    reason: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    corrected_plate: Plate | None = None
    comment: Annotated[str, Meta(max_length=2000)] | None = None

    def __post_init__(self) -> None:
        if self.decision == "REJECT" and (self.reason is None or not self.reason.strip()):
            raise ValueError("a REJECT decision needs a reason")
        if self.corrected_plate is not None:
            if self.decision != "CONFIRM":
                raise ValueError("correctedPlate goes with a CONFIRM decision only")
            self.corrected_plate = normalize_plate(self.corrected_plate)


class ReviewEntry(Output):
    id: str
    event_id: str
    decision: Literal["CONFIRM", "REJECT"]
    from_status: str
    to_status: str
    reason: str | None
    comment: str | None
    original_plate: str | None
    corrected_plate: str | None
    reviewer_id: str
    reviewed_at: IsoTime


Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$(?!\n)")]


class EvidenceUploadInput(Input):
    event_id: Id
    kind: EvidenceKind
    content_type: Annotated[str, Meta(min_length=1, max_length=100)]
    size: Annotated[int, Meta(ge=1, le=100 * 1024 * 1024)]
    sha256: Sha256


class EvidenceUpload(Output):
    evidence_id: str
    key: str
    upload_url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    """Send these headers with the PUT (the Content-Type is part of the signature)."""
    expires_at: IsoTime


class CompleteUploadInput(Input):
    event_id: Id
    key: Annotated[str, Meta(min_length=1, max_length=512)]
