"""The agent's configuration file (TOML): which server, which gateway key, which children.

```toml
server = "http://127.0.0.1:8000"
key = "tvms_dk_…"                  # the gateway's device key (EDGE_CONTROLLER)
queue = "gw-01.queue.db"           # the durable outbox, relative to this file
disk_budget_mb = 64                # the outbox's payload budget (oldest entries dropped beyond)

[[children]]                       # cameras and NVRs attached to the gateway
device_id = "CAM-0001"
type = "CAMERA"

[traffic]                          # optional: a built-in traffic source (the simulator's)
events_per_minute = 60
```
The gateway's key speaks for its children (heartbeats, events, metrics, commands): the server
lets a gateway act for the devices attached to it, so children need no keys of their own here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0)]


class Child(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    type: Literal["CAMERA", "NVR"] = "CAMERA"


class Traffic(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Synthetic traffic seen by the cameras: rush hours in `timezone`, violations, evidence."""

    events_per_minute: Positive = 60.0
    rush_hours: bool = True
    """Volume follows the local hour (peaks at 08:00 and 18:00); false: a steady rate."""
    violation_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.06
    evidence: bool = True
    timezone: str = "Asia/Almaty"
    speed_limit_kmh: Annotated[int, msgspec.Meta(ge=10, le=200)] = 60
    max_events: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Stop generating after this many events in the queue's lifetime (0: never stop)."""
    seed: int | None = None


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    server: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    key: Annotated[str, msgspec.Meta(min_length=1)]
    queue: str = "agent-queue.db"
    disk_budget_mb: Positive = 64.0
    heartbeat_s: Positive = 30.0
    metrics_s: Positive = 60.0
    batch: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
    poll_wait_s: Annotated[int, msgspec.Meta(ge=0, le=25)] = 25
    children: list[Child] = []
    traffic: Traffic | None = None
    base_dir: Path = Path(".")

    @property
    def queue_path(self) -> Path:
        return self.base_dir / self.queue


FORMAT = """configuration file (TOML; every key, its default and meaning):
  server = "http://…"      required: the TVMS server
  key = "tvms_dk_…"        required: the gateway's device key (sensors.rotateApiKey)
  queue = "agent-queue.db" the durable outbox, relative to the file
  disk_budget_mb = 64      the outbox's payload budget (oldest entries dropped beyond it)
  heartbeat_s = 30         seconds between heartbeats
  metrics_s = 60           seconds between health samples
  batch = 100              events per events.ingest call (1-500)
  poll_wait_s = 25         seconds the server may hold a command poll (0-25)
  [[children]]             one block per camera or NVR behind the gateway (default none):
    device_id = "…"          required: the child's device id
    type = "CAMERA"          CAMERA or NVR
  [traffic]                optional: synthetic traffic from the cameras; without it, no events
    events_per_minute = 60   average rate
    rush_hours = true        volume follows the local hour (peaks 08:00, 18:00); false: steady
    violation_rate = 0.06    share of vehicles that violate (0-1)
    evidence = true          violations carry an evidence image
    timezone = "Asia/Almaty" the time zone of the rush hours
    speed_limit_kmh = 60     the road's limit (10-200)
    max_events = 0           stop after this many events in the outbox's lifetime (0: never)
    seed = 1                 random seed for repeatable traffic (default: none)"""
"""`tvms agent --help` shows this; the README's "The edge" section gives the same keys."""


class AgentConfigError(ValueError):
    """The file is missing, not TOML, or not a valid agent configuration."""


def load_agent_config(path: Path) -> AgentConfig:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise AgentConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"{path} is not valid TOML: {exc}") from None
    if "base_dir" in raw:
        raise AgentConfigError(f"{path}: unknown key 'base_dir'")
    try:
        config = msgspec.convert(raw, AgentConfig)
    except msgspec.ValidationError as exc:
        raise AgentConfigError(f"{path}: {exc}") from None
    config.base_dir = path.resolve().parent
    return config
