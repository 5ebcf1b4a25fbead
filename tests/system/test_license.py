from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from procedures import api
from tests.support import error, result
from tvms.app import create_app
from tvms.clock import ManualClock
from tvms.config import Config, ConfigError

DOCUMENTED_DEFAULT = {
    "valid": True,
    "type": "enterprise",
    "expiresAt": None,
    "features": [
        "dashboard",
        "sensors",
        "reports",
        "analytics",
        "incidents",
        "traffic",
        "locations",
        "users",
        "settings",
    ],
    "maxUsers": -1,
    "maxSensors": -1,
    "organization": "ITMS Solutions",
    "issuedAt": "2024-01-01T00:00:00.000Z",
}


async def test_default_license_is_the_documented_one(client: httpx.AsyncClient) -> None:
    assert await result(client, "system.getLicense") == DOCUMENTED_DEFAULT


async def test_license_takes_no_input(client: httpx.AsyncClient) -> None:
    assert await result(client, "system.getLicense", {}) == DOCUMENTED_DEFAULT
    assert await result(client, "system.getLicense", []) == DOCUMENTED_DEFAULT
    problem = await error(client, "system.getLicense", {"maxUsers": 5})
    assert problem["code"] == -32602


async def _license_from(
    tmp_path: Path, config: Config, clock: ManualClock, terms: dict[str, object]
) -> dict[str, object]:
    path = tmp_path / "license.json"
    path.write_text(json.dumps(terms))
    app: Starlette = create_app(
        Config(data_dir=tmp_path, database_url=config.database_url, license_file=path),
        api(),
        clock=clock,
        validate_output=True,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            value: dict[str, object] = await result(client, "system.getLicense")
            return value


async def test_configured_license_and_expiry(tmp_path: Path, config: Config, clock: ManualClock) -> None:
    terms = {
        "type": "standard",
        "maxUsers": 5,
        "maxSensors": 100,
        "organization": "City of Almaty",
        "expiresAt": "2023-11-15T00:00:00Z",
        "issuedAt": "2023-01-01T00:00:00Z",
        "features": ["dashboard", "sensors"],
    }
    clock_before = ManualClock(start_ms=1_600_000_000_000)  # 2020: not yet expired
    before = await _license_from(tmp_path, config, clock_before, terms)
    assert before["valid"] is True
    assert before["maxUsers"] == 5 and before["maxSensors"] == 100
    assert before["expiresAt"] == "2023-11-15T00:00:00.000Z"
    after = await _license_from(tmp_path, config, clock, terms)  # ManualClock default: 2023-11-14
    assert after["valid"] is True
    clock.advance(2 * 86400)
    expired = await _license_from(tmp_path, config, clock, terms)
    assert expired["valid"] is False


@pytest.mark.parametrize("bad", ['{"maxUsers": "many"}', '{"unknownField": 1}', "not json"])
def test_bad_license_file_stops_the_start_with_one_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "license.json"
    path.write_text(bad)
    with pytest.raises(ConfigError) as raised:
        create_app(Config(data_dir=tmp_path, license_file=path), api())
    message = str(raised.value)
    assert message.startswith("TVMS_LICENSE_FILE license.json: ") and "\n" not in message
