"""`sensors.*`: the sensor inventory, device API keys, heartbeats and the gateway topology.

Wiring (procedures/__init__.py): the `sensors` router, `resolve_api_key` composed into the
resolver for `X-API-Key`, and the `heartbeat_sweeper` hook.
"""

from __future__ import annotations

from procedures.sensors import heartbeat, reads, writes
from procedures.sensors.keys import resolve_api_key
from procedures.sensors.status import heartbeat_sweeper, sweep_once
from tvms.rpc import Router

sensors = Router("sensors", include=[reads.router, writes.router, heartbeat.router])
"""The reads, the writes and the heartbeat, in that order."""

__all__ = ["heartbeat_sweeper", "resolve_api_key", "sensors", "sweep_once"]
