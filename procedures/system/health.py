"""`system.health` and `system.getSettings`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal

from procedures.schemas import Output
from procedures.settings import Setting, current_settings
from tvms import __version__
from tvms.rpc import PUBLIC, Context, Router
from tvms.rpc.router import Example

system = Router("system")

Status = Literal["ok", "degraded", "down"]


class Check(Output):
    status: Literal["ok", "error"]
    latency_ms: float
    error: str | None = None


class Checks(Output):
    database: Check
    storage: Check
    cache: Check


class Health(Output):
    status: Status
    version: str
    uptime_s: float
    engine: str
    checks: Checks


async def _check(probe: Callable[[], Awaitable[object]], failure: str) -> Check:
    started = time.perf_counter()
    try:
        await probe()
        status: Literal["ok", "error"] = "ok"
        error = None
    except Exception:  # a health check reports failure; it never raises or leaks the reason
        status, error = "error", failure
    return Check(status=status, latency_ms=round((time.perf_counter() - started) * 1000, 3), error=error)


@system.query(
    "health",
    auth=PUBLIC,
    examples=[
        Example(
            "everything answers (latency and uptime vary)",
            result={
                "status": "ok",
                "version": "0.1.0",
                "uptimeS": 12.5,
                "engine": "sqlite",
                "checks": {
                    "database": {"status": "ok", "latencyMs": 0.4},
                    "storage": {"status": "ok", "latencyMs": 0.1},
                    "cache": {"status": "ok", "latencyMs": 0.01},
                },
            },
        )
    ],
)
async def health(ctx: Context) -> Health:
    """Whether the database, storage and cache answer, with their latency, the version and uptime.

    `status` is `ok` when every check passes, `down` when the database fails, else `degraded`.
    """

    async def cache_probe() -> None:
        if not ctx.cache.probe():
            raise RuntimeError("cache probe failed")

    checks = Checks(
        database=await _check(ctx.db.ping, "database unreachable"),
        storage=await _check(ctx.storage.check, "storage unavailable"),
        cache=await _check(cache_probe, "cache unavailable"),
    )
    if checks.database.status == "error":
        status: Status = "down"
    elif "error" in (checks.storage.status, checks.cache.status):
        status = "degraded"
    else:
        status = "ok"
    return Health(
        status=status,
        version=__version__,
        uptime_s=round(time.monotonic() - ctx.services.started, 3),
        engine=ctx.db.engine,
        checks=checks,
    )


@system.query(
    "getSettings",
    auth=PUBLIC,
    examples=[
        Example(
            "the first public setting (of many)",
            result=[
                {
                    "key": "app.name",
                    "value": "Smart City TVMS",
                    "type": "STRING",
                    "category": "GENERAL",
                    "label": "Application name",
                    "description": None,
                    "isPublic": True,
                    "isEditable": True,
                    "defaultValue": "Smart City TVMS",
                    "updatedAt": None,
                    "updatedBy": None,
                    "options": None,
                    "masked": False,
                }
            ],
        )
    ],
)
async def get_settings(ctx: Context) -> list[Setting]:
    """The public settings (application name, logo, language, time zone and formats, features)."""
    return await current_settings(ctx, only_public=True)
