"""Where evidence lives in storage (the documented object layout).

Violations: `violations/{event-id}/image.jpg` + `metadata.json` (+ plate, vehicle, clip).
Other events: `events/YYYY/MM/{event-id}.jpg` (+ `-plate`, `-vehicle`, `-clip`, `-metadata`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tvms.storage import EXTENSIONS

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
CONTENT_TYPES_BY_KIND: dict[str, tuple[str, ...]] = {
    "OVERVIEW_IMAGE": IMAGE_TYPES,
    "PLATE_CROP": IMAGE_TYPES,
    "VEHICLE_CROP": IMAGE_TYPES,
    "VIDEO_CLIP": ("video/mp4",),
    "METADATA_JSON": ("application/json",),
}
_VIOLATION_NAMES = {
    "OVERVIEW_IMAGE": "image",
    "PLATE_CROP": "plate",
    "VEHICLE_CROP": "vehicle",
    "VIDEO_CLIP": "clip",
    "METADATA_JSON": "metadata",
}
_EVENT_SUFFIXES = {
    "OVERVIEW_IMAGE": "",
    "PLATE_CROP": "-plate",
    "VEHICLE_CROP": "-vehicle",
    "VIDEO_CLIP": "-clip",
    "METADATA_JSON": "-metadata",
}


def evidence_key(event_id: str, occurred_at_ms: int, is_violation: bool, kind: str, content_type: str) -> str:
    extension = EXTENSIONS[content_type]
    if is_violation:
        return f"violations/{event_id}/{_VIOLATION_NAMES[kind]}.{extension}"
    moment = datetime.fromtimestamp(occurred_at_ms / 1000, UTC)
    return f"events/{moment:%Y}/{moment:%m}/{event_id}{_EVENT_SUFFIXES[kind]}.{extension}"
