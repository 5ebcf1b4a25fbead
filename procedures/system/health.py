"""`system.health` and `system.getSettings`."""

from __future__ import annotations

import time
from typing import Literal

from procedures.schemas import Output
from procedures.settings import Setting, current_settings
from tvms import __version__
from tvms.readiness import Probe
from tvms.rpc import PUBLIC, Context, Router
from tvms.rpc.router import Example

router = Router("system")

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


def _check(probe: Probe, failure: str) -> Check:
    # The reason stays in the server log (readiness logs it once); clients get a fixed text.
    if probe.ok:
        return Check(status="ok", latency_ms=probe.latency_ms)
    return Check(status="error", latency_ms=probe.latency_ms, error=failure)


def http_status(health: Health) -> int:
    """GET answers 503 while the database or storage cannot serve (as `/readyz` does)."""
    return 503 if "error" in (health.checks.database.status, health.checks.storage.status) else 200


@router.query(
    "health",
    auth=PUBLIC,
    get_status=http_status,
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
    The database and storage checks are the process's readiness verdict (probed at most once a
    second); served by GET, the answer is HTTP 503 while the database or storage fails.
    """

    verdict = await ctx.services.readiness.verdict()
    started = time.perf_counter()
    cache_ok = ctx.cache.probe()
    cache = Check(
        status="ok" if cache_ok else "error",
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        error=None if cache_ok else "cache unavailable",
    )
    checks = Checks(
        database=_check(verdict.database, "database unreachable"),
        storage=_check(verdict.storage, "storage unavailable"),
        cache=cache,
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


@router.query(
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
