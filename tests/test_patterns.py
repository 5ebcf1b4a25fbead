"""Field patterns refuse a trailing newline: Python's `$` also matches before a final `\\n`."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from procedures.auth.fields import Email, Name
from procedures.events.schemas import Sha256
from procedures.sensors.schemas import DeviceId

CASES: list[tuple[Any, str]] = [
    (Email, "ops@city.kz"),
    (Name, "Aigerim"),
    (DeviceId, "CAM-0001"),
    (Sha256, "a" * 64),
]


@pytest.mark.parametrize(("kind", "good"), CASES)
def test_a_trailing_newline_is_refused(kind: Any, good: str) -> None:
    assert msgspec.convert(good, kind) == good
    for bad in (good + "\n", good + "\r\n", "\n" + good):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, kind)
