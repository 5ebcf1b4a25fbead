from __future__ import annotations

import typing

import httpx
import pytest

from procedures.settings.catalog import DATE_FORMATS
from procedures.system.timezone import DateFormat
from tests.support import as_role, error, result

DEFAULTS = {
    "timezone": "Asia/Almaty",
    "use24HourFormat": True,
    "dateFormat": "DD/MM/YYYY",
    "firstDayOfWeek": 1,
}


def test_date_format_literal_lists_the_catalog_options() -> None:
    assert typing.get_args(DateFormat) == DATE_FORMATS


async def test_defaults_are_public(client: httpx.AsyncClient) -> None:
    assert await result(client, "system.timezone.getTimezoneSettings") == DEFAULTS


async def test_admin_updates_and_everyone_sees_it(client: httpx.AsyncClient) -> None:
    changed = await result(
        client,
        "system.timezone.updateTimezoneSettings",
        {"timezone": "Europe/Berlin", "use24HourFormat": False, "firstDayOfWeek": 0},
        headers=as_role("ADMIN"),
    )
    assert changed == {**DEFAULTS, "timezone": "Europe/Berlin", "use24HourFormat": False, "firstDayOfWeek": 0}
    assert await result(client, "system.timezone.getTimezoneSettings") == changed
    settings = {s["key"]: s["value"] for s in await result(client, "system.getSettings")}
    assert settings["app.timezone"] == "Europe/Berlin" and settings["app.timeFormat"] == "12h"


async def test_empty_update_changes_nothing(client: httpx.AsyncClient) -> None:
    same = await result(client, "system.timezone.updateTimezoneSettings", {}, headers=as_role("ADMIN"))
    assert same == DEFAULTS


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"timezone": "Mars/Olympus"}, "$.timezone"),
        ({"timezone": "../../etc/passwd"}, "$.timezone"),
        ({"timezone": "Europe/Berlin'; DROP TABLE settings;--"}, "$.timezone"),
        ({"timezone": "x" * 10_000}, "$.timezone"),
        ({"timezone": 5}, "$.timezone"),
        ({"firstDayOfWeek": 7}, "$.firstDayOfWeek"),
        ({"firstDayOfWeek": -1}, "$.firstDayOfWeek"),
        ({"firstDayOfWeek": 1.5}, "$.firstDayOfWeek"),
        ({"dateFormat": "YYYY/DD/MM"}, "$.dateFormat"),
        ({"use24HourFormat": "yes"}, "$.use24HourFormat"),
        ({"colour": "red"}, "$"),
    ],
)
async def test_bad_updates_are_refused_with_their_path_and_change_nothing(
    client: httpx.AsyncClient, params: dict[str, object], path: str
) -> None:
    problem = await error(client, "system.timezone.updateTimezoneSettings", params, headers=as_role("ADMIN"))
    assert problem["code"] == -32602
    assert problem["data"]["issues"][0]["path"] == path
    assert await result(client, "system.timezone.getTimezoneSettings") == DEFAULTS


@pytest.mark.parametrize(
    ("headers", "code"), [({}, -32001), (as_role("VIEWER"), -32003), (as_role("OPERATOR"), -32003)]
)
async def test_only_admins_update(client: httpx.AsyncClient, headers: dict[str, str], code: int) -> None:
    problem = await error(
        client, "system.timezone.updateTimezoneSettings", {"timezone": "UTC"}, headers=headers
    )
    assert problem["code"] == code
    assert (await result(client, "system.timezone.getTimezoneSettings"))["timezone"] == "Asia/Almaty"


async def test_list_timezones(client: httpx.AsyncClient) -> None:
    zones = (await result(client, "system.timezone.listTimezones"))["timezones"]
    assert "Asia/Almaty" in zones and "Europe/Berlin" in zones and "Asia/Kolkata" in zones
    assert zones == sorted(zones) and len(zones) > 400


async def test_get_over_http_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/rpc/system.timezone.getTimezoneSettings")
    assert response.status_code == 200
    assert response.json()["result"] == DEFAULTS
