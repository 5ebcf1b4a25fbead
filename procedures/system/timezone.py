"""`system.timezone.*`: the zone, date and time formats reports and the console use.

These are views of the `app.*` settings, so `settings.update` and this router always agree.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from procedures.schemas import Input, Output
from procedures.settings.catalog import TIMEZONES
from procedures.settings.store import get_value, write_values
from tvms.rpc import PUBLIC, Context, Router, invalid_params, roles
from tvms.rpc.router import Example

router = Router("system.timezone")

DateFormat = Literal["DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD.MM.YYYY"]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6, description="0 = Sunday … 6 = Saturday")]


class TimezoneSettings(Output):
    timezone: str
    use_24_hour_format: bool = msgspec.field(name="use24HourFormat")
    date_format: DateFormat
    first_day_of_week: Weekday


class TimezoneUpdate(Input):
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    use_24_hour_format: bool | UnsetType = msgspec.field(default=UNSET, name="use24HourFormat")
    date_format: DateFormat | UnsetType = UNSET
    first_day_of_week: Weekday | UnsetType = UNSET


class TimezoneList(Output):
    timezones: list[str]


async def timezone_settings(ctx: Context) -> TimezoneSettings:
    """The current settings; the reports router uses this for its buckets."""
    return TimezoneSettings(
        timezone=await get_value(ctx, "app.timezone"),
        use_24_hour_format=await get_value(ctx, "app.timeFormat") == "24h",
        date_format=await get_value(ctx, "app.dateFormat"),
        first_day_of_week=await get_value(ctx, "app.firstDayOfWeek"),
    )


@router.query(
    "getTimezoneSettings",
    auth=PUBLIC,
    examples=[
        Example(
            "defaults",
            result={
                "timezone": "Asia/Almaty",
                "use24HourFormat": True,
                "dateFormat": "DD/MM/YYYY",
                "firstDayOfWeek": 1,
            },
        )
    ],
)
async def get_timezone_settings(ctx: Context) -> TimezoneSettings:
    """The system time zone (IANA), 12/24-hour clock, date format and first day of the week."""
    return await timezone_settings(ctx)


@router.mutation(
    "updateTimezoneSettings",
    auth=roles("ADMIN"),
    examples=[
        Example(
            "switch to Berlin, 12-hour clock",
            params={"timezone": "Europe/Berlin", "use24HourFormat": False},
            result={
                "timezone": "Europe/Berlin",
                "use24HourFormat": False,
                "dateFormat": "DD/MM/YYYY",
                "firstDayOfWeek": 1,
            },
        )
    ],
)
async def update_timezone_settings(ctx: Context, input: TimezoneUpdate) -> TimezoneSettings:
    """Change any of the time-zone settings; an unknown IANA zone is refused."""
    changes: dict[str, object] = {}
    if input.timezone is not UNSET:
        if input.timezone not in TIMEZONES:
            raise invalid_params("$.timezone", f"Unknown IANA time zone {input.timezone!r}")
        changes["app.timezone"] = input.timezone
    if input.use_24_hour_format is not UNSET:
        changes["app.timeFormat"] = "24h" if input.use_24_hour_format else "12h"
    if input.date_format is not UNSET:
        changes["app.dateFormat"] = input.date_format
    if input.first_day_of_week is not UNSET:
        changes["app.firstDayOfWeek"] = input.first_day_of_week
    if changes:
        await write_values(ctx, changes)
    return await timezone_settings(ctx)


_SORTED_ZONES = sorted(TIMEZONES)


@router.query("listTimezones", auth=PUBLIC)
async def list_timezones(ctx: Context) -> TimezoneList:
    """Every IANA time zone name this server knows, sorted."""
    return TimezoneList(timezones=_SORTED_ZONES)
