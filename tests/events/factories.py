"""Building event payloads for the tests."""

from __future__ import annotations

from typing import Any

from tvms.clock import iso_ms

T0 = 1_700_000_000_000 - 3_600_000  # an hour before the test clock's "now"


def event(n: int, *, type: str = "ANPR_READ", at: int | None = None, **extra: Any) -> dict[str, Any]:
    """A valid EventIn with externalId `ext-<n>`."""
    body: dict[str, Any] = {
        "externalId": f"ext-{n}",
        "type": type,
        "occurredAt": iso_ms(T0 + n * 1000 if at is None else at),
    }
    if type in ("ANPR_READ", "SPEEDING", "RED_LIGHT"):
        body["plate"] = f"{100 + n % 900}ABC02"
    if type == "SPEEDING":
        body.update(speedKmh=92.5, speedLimitKmh=60)
    body.update(extra)
    return body
