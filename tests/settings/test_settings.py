from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.settings.catalog import DEFINITIONS
from tests.support import as_role, error, result
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.db import open_database

ADMIN = as_role("ADMIN", "admin-1")

DOCUMENTED_DEFAULTS = {
    "app.name": "Smart City TVMS",
    "app.logo": None,
    "app.language": "en",
    "app.timezone": "Asia/Almaty",
    "app.dateFormat": "DD/MM/YYYY",
    "app.timeFormat": "24h",
    "security.sessionTimeout": 24,
    "security.maxLoginAttempts": 5,
    "security.lockoutDuration": 30,
    "security.passwordExpiry": 90,
    "security.mfaEnabled": False,
}


async def values(client: httpx.AsyncClient) -> dict[str, object]:
    return {s["key"]: s["value"] for s in await result(client, "settings.getAll", headers=ADMIN)}


async def test_documented_defaults(client: httpx.AsyncClient) -> None:
    current = await values(client)
    for key, value in DOCUMENTED_DEFAULTS.items():
        assert current[key] == value, key
    assert len(current) == len(DEFINITIONS)


async def test_setting_shape(client: httpx.AsyncClient) -> None:
    setting = next(
        s for s in await result(client, "settings.getAll", headers=ADMIN) if s["key"] == "app.language"
    )
    assert setting == {
        "key": "app.language",
        "value": "en",
        "type": "SELECT",
        "category": "GENERAL",
        "label": "Language",
        "description": None,
        "isPublic": True,
        "isEditable": True,
        "defaultValue": "en",
        "updatedAt": None,
        "updatedBy": None,
        "options": ["en", "ru", "kk"],
        "masked": False,
    }


async def test_update_records_who_and_when_and_reset_restores(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    updated = await result(
        client, "settings.update", {"key": "security.sessionTimeout", "value": 8}, headers=ADMIN
    )
    assert updated["value"] == 8 and updated["defaultValue"] == 24
    assert updated["updatedBy"] == "admin-1"
    assert updated["updatedAt"] == "2023-11-14T22:13:20.000Z"
    assert (await values(client))["security.sessionTimeout"] == 8
    reset = await result(client, "settings.reset", {"key": "security.sessionTimeout"}, headers=ADMIN)
    assert reset == {"reset": ["security.sessionTimeout"]}
    assert (await values(client))["security.sessionTimeout"] == 24


async def test_reset_a_category(client: httpx.AsyncClient) -> None:
    await result(client, "settings.update", {"key": "security.maxLoginAttempts", "value": 3}, headers=ADMIN)
    await result(client, "settings.update", {"key": "app.name", "value": "Astana TVMS"}, headers=ADMIN)
    reset = await result(client, "settings.reset", {"category": "SECURITY"}, headers=ADMIN)
    assert "security.maxLoginAttempts" in reset["reset"]
    assert "security.passwordHashScheme" not in reset["reset"]  # not editable
    current = await values(client)
    assert current["security.maxLoginAttempts"] == 5 and current["app.name"] == "Astana TVMS"


@pytest.mark.parametrize("params", [{}, {"key": "app.name", "category": "GENERAL"}])
async def test_reset_needs_exactly_one_target(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    problem = await error(client, "settings.reset", params, headers=ADMIN)
    assert problem["code"] == -32602


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("security.sessionTimeout", "24"),
        ("security.sessionTimeout", 0),
        ("security.sessionTimeout", 1e308),
        ("security.sessionTimeout", 2.5),
        ("security.sessionTimeout", True),
        ("security.mfaEnabled", "true"),
        ("security.mfaEnabled", None),
        ("app.language", "xx"),
        ("app.name", ""),
        ("app.name", "   "),
        ("app.name", "x" * 101),
        ("app.timezone", "Nowhere/City"),
        ("app.timezone", "'; DELETE FROM settings; --"),
        ("notifications.events", ["VIOLATION", "NOT_AN_EVENT"]),
        ("notifications.events", ["VIOLATION", "VIOLATION"]),
        ("notifications.events", "VIOLATION"),
        ("app.firstDayOfWeek", 9),
    ],
)
async def test_type_checked_updates(client: httpx.AsyncClient, key: str, value: object) -> None:
    before = await values(client)
    problem = await error(client, "settings.update", {"key": key, "value": value}, headers=ADMIN)
    assert problem["code"] == -32602
    assert problem["data"]["issues"][0]["path"] == "$.value"
    assert key in problem["message"]
    assert await values(client) == before


async def test_unknown_and_fixed_settings(client: httpx.AsyncClient) -> None:
    assert (await error(client, "settings.update", {"key": "no.such", "value": 1}, headers=ADMIN))[
        "code"
    ] == -32004
    fixed = await error(
        client, "settings.update", {"key": "security.passwordHashScheme", "value": "md5"}, headers=ADMIN
    )
    assert fixed["code"] == -32012
    assert (await values(client))["security.passwordHashScheme"] == "bcrypt"


async def test_by_category_and_public_settings(client: httpx.AsyncClient) -> None:
    security = await result(
        client, "settings.getByCategory", {"category": "SECURITY"}, headers=as_role("VIEWER")
    )
    assert security and all(s["category"] == "SECURITY" for s in security)
    assert (await error(client, "settings.getByCategory", {"category": "NOPE"}, headers=ADMIN))[
        "code"
    ] == -32602
    public = await result(client, "system.getSettings")
    keys = {s["key"] for s in public}
    assert "app.name" in keys and "app.timezone" in keys
    assert not any(key.startswith(("security.", "notifications.")) for key in keys)
    assert all(s["isPublic"] for s in public)


async def test_feature_flags(client: httpx.AsyncClient) -> None:
    flags = {
        f["key"]: f["enabled"]
        for f in await result(client, "settings.getFeatureFlags", headers=as_role("VIEWER"))
    }
    assert flags["analytics"] is True
    off = await result(
        client, "settings.updateFeatureFlag", {"key": "analytics", "enabled": False}, headers=ADMIN
    )
    assert off["key"] == "analytics" and off["enabled"] is False
    flags = {f["key"]: f["enabled"] for f in await result(client, "settings.getFeatureFlags", headers=ADMIN)}
    assert flags["analytics"] is False
    assert (
        await error(client, "settings.updateFeatureFlag", {"key": "app.name", "enabled": True}, headers=ADMIN)
    )["code"] == -32004
    assert (
        await error(
            client, "settings.updateFeatureFlag", {"key": "analytics", "enabled": "no"}, headers=ADMIN
        )
    )["code"] == -32602


async def test_notifications(client: httpx.AsyncClient) -> None:
    current = await result(client, "settings.getNotifications", headers=ADMIN)
    assert current == {
        "emailEnabled": False,
        "smsEnabled": False,
        "webhookUrl": None,
        "recipients": [],
        "events": ["SENSOR_OFFLINE"],
    }
    changed = await result(
        client,
        "settings.updateNotifications",
        {"emailEnabled": True, "recipients": ["ops@city.kz"], "webhookUrl": "https://hooks.city.kz/tvms"},
        headers=ADMIN,
    )
    assert changed == {
        **current,
        "emailEnabled": True,
        "recipients": ["ops@city.kz"],
        "webhookUrl": "https://hooks.city.kz/tvms",
    }
    bad = await error(
        client, "settings.updateNotifications", {"webhookUrl": "javascript:alert(1)"}, headers=ADMIN
    )
    assert bad["code"] == -32602 and bad["data"]["issues"][0]["path"] == "$.webhookUrl"
    bad_event = await error(
        client, "settings.updateNotifications", {"emailEnabled": False, "events": ["NOPE"]}, headers=ADMIN
    )
    assert bad_event["data"]["issues"][0]["path"] == "$.events"
    assert await result(client, "settings.getNotifications", headers=ADMIN) == changed  # nothing partial
    assert (await error(client, "settings.updateNotifications", {}, headers=ADMIN))["code"] == -32602


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("settings.update", {"key": "app.name", "value": "x"}),
        ("settings.reset", {"key": "app.name"}),
        ("settings.updateFeatureFlag", {"key": "analytics", "enabled": False}),
        ("settings.updateNotifications", {"emailEnabled": True}),
        ("settings.getNotifications", None),
    ],
)
@pytest.mark.parametrize(("role", "code"), [(None, -32001), ("VIEWER", -32003), ("OPERATOR", -32003)])
async def test_writes_are_for_admins(
    client: httpx.AsyncClient, method: str, params: dict[str, object] | None, role: str | None, code: int
) -> None:
    before = await values(client)
    problem = await error(client, method, params, headers=as_role(role) if role else {})
    assert problem["code"] == code
    assert await values(client) == before


async def test_reads_need_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert (await error(client, "settings.getAll"))["code"] == -32001
    assert (await error(client, "settings.getFeatureFlags"))["code"] == -32001


class FailingSecondWrite:
    """A transaction whose second statement fails, as a full disk or a lost connection would."""

    def __init__(self, tx: Any) -> None:
        self.tx = tx
        self.calls = 0

    async def execute(self, sql: str, params: Any = None) -> int:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("disk I/O error")
        result: int = await self.tx.execute(sql, params)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)


async def test_a_write_failing_midway_leaves_nothing(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.state.services
    real_db = services.db

    class Db:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_db, name)

        @asynccontextmanager
        async def transaction(self) -> AsyncIterator[Any]:
            async with real_db.transaction() as tx:
                yield FailingSecondWrite(tx)

    monkeypatch.setattr(services, "db", Db())
    problem = await error(
        client, "settings.updateNotifications", {"emailEnabled": True, "smsEnabled": True}, headers=ADMIN
    )
    assert problem["code"] == -32603 and "disk" not in problem["message"]
    monkeypatch.undo()
    current = await result(client, "settings.getNotifications", headers=ADMIN)
    assert current["emailEnabled"] is False and current["smsEnabled"] is False
    assert await real_db.fetchval("SELECT COUNT(*) FROM settings") == 0


async def test_values_survive_a_new_process(client: httpx.AsyncClient, config: Config) -> None:
    await result(client, "settings.update", {"key": "app.language", "value": "kk"}, headers=ADMIN)
    db = await open_database(config.resolved_database_url)
    try:
        row = await db.fetchrow(
            "SELECT value, updated_by FROM settings WHERE key = :key", {"key": "app.language"}
        )
    finally:
        await db.close()
    assert row is not None and row["value"] == '"kk"' and row["updated_by"] == "admin-1"


SECRET_VALUES = {
    "notifications.webhookUrl": "https://hooks.example.org/T000/B000/s3cr3t-token",
    "notifications.recipients": ["ops@example.org", "+77010000000"],
}


async def _store_secrets(client: httpx.AsyncClient) -> None:
    await result(
        client,
        "settings.updateNotifications",
        {
            "webhookUrl": SECRET_VALUES["notifications.webhookUrl"],
            "recipients": SECRET_VALUES["notifications.recipients"],
        },
        headers=ADMIN,
    )


@pytest.mark.parametrize("role", ["VIEWER", "OPERATOR"])
@pytest.mark.parametrize(
    ("procedure", "params"),
    [
        ("settings.getAll", None),
        ("settings.getByCategory", {"category": "NOTIFICATIONS"}),
        ("system.getSettings", None),
    ],
)
async def test_secret_settings_are_masked_for_everyone_but_admin(
    client: httpx.AsyncClient, role: str, procedure: str, params: dict[str, str] | None
) -> None:
    """The hostile review's read: a VIEWER or OPERATOR lists settings to find the webhook URL."""
    await _store_secrets(client)
    listed = await client.post(
        "/rpc",
        json={"jsonrpc": "2.0", "method": procedure, "params": params or {}, "id": 1},
        headers=as_role(role),
    )
    text = listed.text
    for value in ("s3cr3t-token", "hooks.example.org", "ops@example.org", "+77010000000"):
        assert value not in text
    for setting in listed.json()["result"]:
        if setting["key"] in SECRET_VALUES:
            assert setting["value"] is None and setting["masked"] is True
    assert (await error(client, "settings.getNotifications", headers=as_role(role)))["code"] == -32003


async def test_secrets_are_masked_over_get_and_trpc(client: httpx.AsyncClient) -> None:
    await _store_secrets(client)
    by_get = await client.get(
        "/rpc/settings.getByCategory",
        params={"input": '{"category":"NOTIFICATIONS"}'},
        headers=as_role("VIEWER"),
    )
    by_trpc = await client.get(
        "/trpc/settings.getAll", params={"input": '{"json":null}'}, headers=as_role("OPERATOR")
    )
    assert by_get.status_code == 200 and by_trpc.status_code == 200
    for response in (by_get, by_trpc):
        assert "s3cr3t-token" not in response.text and "ops@example.org" not in response.text


async def test_admin_reads_the_secret_values(client: httpx.AsyncClient) -> None:
    await _store_secrets(client)
    for params in (None, {"category": "NOTIFICATIONS"}):
        method = "settings.getAll" if params is None else "settings.getByCategory"
        listed = {s["key"]: s for s in await result(client, method, params, headers=ADMIN)}
        for key, value in SECRET_VALUES.items():
            assert listed[key]["value"] == value and listed[key]["masked"] is False


def test_every_credential_bearing_setting_is_secret() -> None:
    secret = {item.key for item in DEFINITIONS if item.secret}
    assert secret == set(SECRET_VALUES)
    assert not any(item.secret and item.is_public for item in DEFINITIONS)
