"""Synthetic traffic for the agent's cameras: rush hours in local time, speeds, violations, plates.

Volume follows the local hour (two rush-hour peaks, quiet nights); a camera's speeds scatter
around its limit; most vehicles are plain ANPR reads, a configurable share are violations
(speeding, red light, lane) with an evidence image showing the plate and the local time.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tvms.edge.images import scene_jpeg

# Relative traffic per local hour (0-23): peaks at 08:00 and 18:00, a trough at 03:00.
HOURLY = (
    0.15, 0.1, 0.08, 0.07, 0.1, 0.25, 0.6, 1.2, 1.6, 1.2, 0.9, 0.85,
    0.9, 0.9, 0.85, 0.95, 1.2, 1.5, 1.6, 1.2, 0.8, 0.55, 0.4, 0.25,
)  # fmt: skip
VIOLATIONS = (("SPEEDING", 0.6), ("RED_LIGHT", 0.25), ("LANE_VIOLATION", 0.15))
VEHICLES = (("car", 0.78), ("truck", 0.08), ("bus", 0.04), ("motorcycle", 0.05), ("van", 0.05))
REGIONS = ("01", "02", "05", "13", "17")


def rush_factor(epoch_ms: int, zone: ZoneInfo) -> float:
    """How busy the road is at this instant, 1.0 on average over a day."""
    return HOURLY[datetime.fromtimestamp(epoch_ms / 1000, zone).hour] / (sum(HOURLY) / 24)


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def plate(rng: random.Random) -> str:
    """A Kazakh-style plate: three digits, three letters, a region code."""
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    return f"{rng.randint(1, 999):03d}{letters}{rng.choice(REGIONS)}"


@dataclass(frozen=True, slots=True)
class Observation:
    """One event body (without externalId) and, for a violation, its evidence JPEG."""

    fields: dict[str, Any]
    evidence: bytes | None


class TrafficModel:
    def __init__(
        self, zone: str, speed_limit_kmh: int, violation_rate: float, evidence: bool, seed: int | None
    ):
        self.zone = ZoneInfo(zone)
        self.limit = speed_limit_kmh
        self.violation_rate = violation_rate
        self.evidence = evidence
        self.rng = random.Random(seed)

    def observe(self, device_id: str, now_ms: int) -> Observation:
        rng = self.rng
        vehicle = _pick(rng, VEHICLES)
        number = plate(rng)
        violation = rng.random() < self.violation_rate
        kind = _pick(rng, VIOLATIONS) if violation else "ANPR_READ"
        speed = max(5.0, rng.gauss(self.limit * 0.9, self.limit * 0.12))
        if kind == "SPEEDING":
            speed = self.limit * rng.uniform(1.15, 1.8)
        fields: dict[str, Any] = {
            "deviceId": device_id,
            "type": kind,
            "occurredAt": datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds"),
            "plate": number,
            "plateConfidence": round(rng.uniform(0.82, 0.995), 3),
            "speedKmh": round(speed, 1),
            "speedLimitKmh": self.limit,
            "lane": rng.randint(1, 3),
            "direction": rng.choice(("N", "S", "E", "W")),
            "vehicleClass": vehicle,
            "confidence": round(rng.uniform(0.85, 0.99), 3),
        }
        image = None
        if violation and self.evidence:
            local = datetime.fromtimestamp(now_ms / 1000, self.zone)
            image = scene_jpeg(
                [
                    number,
                    f"{local:%Y-%m-%d %H:%M:%S %Z}",
                    f"{kind} {speed:.0f}/{self.limit} km/h {device_id}",
                ],
                plate=number,
                seed=rng.randint(0, 1 << 30),
            )
        return Observation(fields, image)
