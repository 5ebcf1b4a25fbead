"""SQL column lists and row → wire conversions shared by the events modules."""

from __future__ import annotations

import msgspec

from procedures.events.schemas import Event, EventDetail, Evidence
from tvms.clock import iso_ms
from tvms.db import Row

EVENT_COLUMNS = (
    "id, sensor_id, external_id, type, occurred_at, received_at, location_id, plate, corrected_plate,"
    " plate_confidence, speed_kmh, speed_limit_kmh, lane, direction, vehicle_class, confidence,"
    " attributes, is_violation, review_status, reviewed_at, reviewed_by"
)
EVIDENCE_COLUMNS = (
    "id, event_id, kind, state, object_key, content_type, size, sha256, created_at, completed_at"
)


def _fields(row: Row) -> dict[str, object]:
    attributes = row["attributes"]
    return {
        "id": row["id"],
        "sensor_id": row["sensor_id"],
        "external_id": row["external_id"],
        "type": row["type"],
        "occurred_at": iso_ms(row["occurred_at"]),
        "received_at": iso_ms(row["received_at"]),
        "location_id": row["location_id"],
        "plate": row["plate"],
        "corrected_plate": row["corrected_plate"],
        "plate_confidence": row["plate_confidence"],
        "speed_kmh": row["speed_kmh"],
        "speed_limit_kmh": row["speed_limit_kmh"],
        "lane": row["lane"],
        "direction": row["direction"],
        "vehicle_class": row["vehicle_class"],
        "confidence": row["confidence"],
        "attributes": None if attributes is None else msgspec.json.decode(attributes),
        "is_violation": bool(row["is_violation"]),
        "review_status": row["review_status"],
        "reviewed_at": None if row["reviewed_at"] is None else iso_ms(row["reviewed_at"]),
        "reviewed_by": row["reviewed_by"],
    }


def event_from_row(row: Row) -> Event:
    return Event(**_fields(row))  # type: ignore[arg-type]


def detail_from_row(row: Row, evidence: list[Evidence]) -> EventDetail:
    return EventDetail(**_fields(row), evidence=evidence)  # type: ignore[arg-type]


def evidence_from_row(row: Row, download_url: str | None = None, expires_at: str | None = None) -> Evidence:
    return Evidence(
        id=row["id"],
        event_id=row["event_id"],
        kind=row["kind"],
        state=row["state"],
        key=row["object_key"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=iso_ms(row["created_at"]),
        completed_at=None if row["completed_at"] is None else iso_ms(row["completed_at"]),
        download_url=download_url,
        expires_at=expires_at,
    )
