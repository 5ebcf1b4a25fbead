from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import result
from tvms import __version__
from tvms.app import create_app
from tvms.config import Config


async def test_health_reports_every_check(client: httpx.AsyncClient, config: Config) -> None:
    health = await result(client, "system.health")
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert health["engine"] in ("sqlite", "postgresql")
    assert config.resolved_database_url.startswith(health["engine"][:6])
    for name in ("database", "storage", "cache"):
        check = health["checks"][name]
        assert check["status"] == "ok" and check["latencyMs"] >= 0 and check["error"] is None
    assert health["uptimeS"] >= 0


async def test_health_says_down_when_the_database_is_unreachable(tmp_path: Path) -> None:
    from procedures import api

    # A PostgreSQL port nothing listens on: the check fails, the procedure still answers.
    app = create_app(Config(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/none"), api())
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://t")
    async with app.router.lifespan_context(app), http as client:
        health = await result(client, "system.health")
    assert health["status"] == "down"
    assert health["checks"]["database"] == {
        "status": "error",
        "latencyMs": health["checks"]["database"]["latencyMs"],
        "error": "database unreachable",
    }
    assert "127.0.0.1" not in str(health)


async def test_health_is_degraded_when_storage_is_unusable(client: httpx.AsyncClient, config: Config) -> None:
    storage_dir = config.data_dir / "storage"
    if storage_dir.exists():
        storage_dir.rmdir()
    storage_dir.write_text("a file where the storage directory should be")
    health = await result(client, "system.health")
    assert health["status"] == "degraded"
    assert health["checks"]["storage"] == {
        "status": "error",
        "latencyMs": health["checks"]["storage"]["latencyMs"],
        "error": "storage unavailable",
    }
