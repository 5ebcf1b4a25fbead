"""`settings.*`: the platform's configurable settings, feature flags and notifications."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from procedures.schemas import Input, IsoTime, Output
from procedures.settings.catalog import (
    FEATURE_PREFIX,
    NOTIFICATION_PREFIX,
    Definition,
    SettingCategory,
    SettingType,
)
from procedures.settings.store import (
    all_definitions,
    check_value,
    definition,
    reset_values,
    stored_values,
    write_values,
)
from tvms.clock import iso_ms
from tvms.rpc import USER, Context, ErrorCode, Router, RpcError, invalid_params, roles
from tvms.rpc.router import Example

settings = Router("settings")
ADMIN = roles("ADMIN")

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Setting(Output):
    key: str
    value: Any
    type: SettingType
    category: SettingCategory
    label: str
    description: str | None
    is_public: bool
    is_editable: bool
    default_value: Any
    updated_at: IsoTime | None
    updated_by: str | None
    options: list[str] | None = None
    masked: bool = False
    """True when `value` is withheld (null): the setting holds a credential only ADMIN may read."""


class CategoryInput(Input):
    category: SettingCategory


class UpdateInput(Input):
    key: Key
    value: Any


class ResetInput(Input):
    key: Key | None = None
    category: SettingCategory | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.category is None):
            raise ValueError("give exactly one of `key` or `category`")


class ResetResult(Output):
    reset: list[str]


class FeatureFlag(Output):
    key: str
    enabled: bool
    label: str
    description: str | None


class FeatureFlagInput(Input):
    key: Key
    enabled: bool


class NotificationSettings(Output):
    email_enabled: bool
    sms_enabled: bool
    webhook_url: str | None
    recipients: list[str]
    events: list[str]


class NotificationUpdate(Input):
    email_enabled: bool | UnsetType = UNSET
    sms_enabled: bool | UnsetType = UNSET
    webhook_url: Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https?://")] | UnsetType | None = (
        UNSET
    )
    recipients: (
        Annotated[
            list[Annotated[str, msgspec.Meta(min_length=3, max_length=254)]], msgspec.Meta(max_length=100)
        ]
        | UnsetType
    ) = UNSET
    events: list[str] | UnsetType = UNSET


def may_read_secrets(ctx: Context) -> bool:
    """The one rule for secret settings: only a signed-in ADMIN sees their values."""
    principal = ctx.principal
    return principal is not None and principal.kind == "user" and principal.role == "ADMIN"


async def current_settings(ctx: Context, only_public: bool = False) -> list[Setting]:
    """Every setting with its value (stored or default), in catalog order.

    Every path to a setting's value goes through here: secret values are masked for anyone
    but ADMIN (see `may_read_secrets`).
    """
    stored = await stored_values(ctx)
    reveal = may_read_secrets(ctx)
    result = []
    for item in all_definitions():
        if only_public and not item.is_public:
            continue
        entry = stored.get(item.key)
        masked = item.secret and not reveal
        value = None if masked else (entry.value if entry else item.default)
        result.append(_setting(item, value, entry, masked))
    return result


def _setting(item: Definition, value: Any, entry: Any, masked: bool) -> Setting:
    return Setting(
        key=item.key,
        value=value,
        masked=masked,
        type=item.type,
        category=item.category,
        label=item.label,
        description=item.description,
        is_public=item.is_public,
        is_editable=item.is_editable,
        default_value=item.default,
        updated_at=iso_ms(entry.updated_at) if entry else None,
        updated_by=entry.updated_by if entry else None,
        options=list(item.options) if item.options else None,
    )


@settings.query("getAll", auth=USER)
async def get_all(ctx: Context) -> list[Setting]:
    """Every setting with its current value, default, type and category."""
    return await current_settings(ctx)


@settings.query("getByCategory", auth=USER)
async def get_by_category(ctx: Context, input: CategoryInput) -> list[Setting]:
    """The settings of one category."""
    return [item for item in await current_settings(ctx) if item.category is input.category]


@settings.mutation(
    "update",
    auth=ADMIN,
    examples=[
        Example(
            "rename the application",
            params={"key": "app.name", "value": "Almaty Traffic"},
            result={
                "key": "app.name",
                "value": "Almaty Traffic",
                "type": "STRING",
                "category": "GENERAL",
                "label": "Application name",
                "description": None,
                "isPublic": True,
                "isEditable": True,
                "defaultValue": "Smart City TVMS",
                "updatedAt": "2024-11-15T12:00:00.000Z",
                "updatedBy": "admin-001",
                "options": None,
                "masked": False,
            },
        )
    ],
)
async def update(ctx: Context, input: UpdateInput) -> Setting:
    """Change one setting; the value is checked against the setting's type and limits."""
    item = definition(input.key)
    check_value(item, input.value)
    await write_values(ctx, {item.key: input.value})
    return next(s for s in await current_settings(ctx) if s.key == item.key)


@settings.mutation(
    "reset",
    auth=ADMIN,
    examples=[Example("reset one key", params={"key": "app.name"}, result={"reset": ["app.name"]})],
)
async def reset(ctx: Context, input: ResetInput) -> ResetResult:
    """Put one setting (`key`) or a whole `category` back to its default."""
    if input.key is not None:
        keys = [definition(input.key).key]
    else:
        keys = [item.key for item in all_definitions() if item.category is input.category]
    keys = [key for key in keys if definition(key).is_editable]
    await reset_values(ctx, keys)
    return ResetResult(reset=keys)


async def _flags(ctx: Context) -> list[FeatureFlag]:
    return [
        FeatureFlag(
            key=s.key.removeprefix(FEATURE_PREFIX), enabled=s.value, label=s.label, description=s.description
        )
        for s in await current_settings(ctx)
        if s.key.startswith(FEATURE_PREFIX)
    ]


@settings.query("getFeatureFlags", auth=USER)
async def get_feature_flags(ctx: Context) -> list[FeatureFlag]:
    """The feature flags (`key` without the `features.` prefix) and whether each is on."""
    return await _flags(ctx)


@settings.mutation(
    "updateFeatureFlag",
    auth=ADMIN,
    examples=[
        Example(
            "switch analytics off",
            params={"key": "analytics", "enabled": False},
            result={
                "key": "analytics",
                "enabled": False,
                "label": "Analytics dashboards",
                "description": None,
            },
        )
    ],
)
async def update_feature_flag(ctx: Context, input: FeatureFlagInput) -> FeatureFlag:
    """Switch one feature flag on or off."""
    key = input.key if input.key.startswith(FEATURE_PREFIX) else FEATURE_PREFIX + input.key
    try:
        definition(key)
    except RpcError:
        raise RpcError(ErrorCode.NOT_FOUND, f"No feature flag named {input.key[:100]!r}") from None
    await write_values(ctx, {key: input.enabled})
    return next(flag for flag in await _flags(ctx) if FEATURE_PREFIX + flag.key == key)


async def _notifications(ctx: Context) -> NotificationSettings:
    current = await current_settings(ctx)
    if any(s.masked for s in current):  # ADMIN-only procedures; kept true if that ever changes
        raise RpcError(ErrorCode.FORBIDDEN, "Only ADMIN may read the notification settings")
    values = {
        s.key.removeprefix(NOTIFICATION_PREFIX): s.value
        for s in current
        if s.key.startswith(NOTIFICATION_PREFIX)
    }
    return msgspec.convert(values, NotificationSettings)


@settings.query(
    "getNotifications",
    auth=ADMIN,
    examples=[
        Example(
            "the defaults",
            result={
                "emailEnabled": False,
                "smsEnabled": False,
                "webhookUrl": None,
                "recipients": [],
                "events": ["SENSOR_OFFLINE"],
            },
        )
    ],
)
async def get_notifications(ctx: Context) -> NotificationSettings:
    """Where and when the platform sends notifications."""
    return await _notifications(ctx)


@settings.mutation(
    "updateNotifications",
    auth=ADMIN,
    examples=[
        Example(
            "e-mail the operations team",
            params={"emailEnabled": True, "recipients": ["ops@example.org"]},
            result={
                "emailEnabled": True,
                "smsEnabled": False,
                "webhookUrl": None,
                "recipients": ["ops@example.org"],
                "events": ["SENSOR_OFFLINE"],
            },
        )
    ],
)
async def update_notifications(ctx: Context, input: NotificationUpdate) -> NotificationSettings:
    """Change some notification settings; fields left out keep their values."""
    changes: dict[str, Any] = {}
    for field in input.__struct_fields__:
        value = getattr(input, field)
        if value is UNSET:
            continue
        wire = input.__struct_encode_fields__[input.__struct_fields__.index(field)]
        item = definition(NOTIFICATION_PREFIX + wire)
        check_value(item, value, f"$.{wire}")
        changes[item.key] = value
    if not changes:
        raise invalid_params("$", "give at least one field to change")
    await write_values(ctx, changes)
    return await _notifications(ctx)
