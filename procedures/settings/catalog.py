"""Every setting the platform knows: type, category, default and the rule its values obey.

The catalog is code (it changes with the software); the database keeps only values that an
administrator changed, so a reset is a delete and new defaults reach old installations.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

TIMEZONES = frozenset(available_timezones())


class SettingType(enum.Enum):
    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    JSON = "JSON"
    SELECT = "SELECT"
    MULTI_SELECT = "MULTI_SELECT"


class SettingCategory(enum.Enum):
    GENERAL = "GENERAL"
    SECURITY = "SECURITY"
    NOTIFICATIONS = "NOTIFICATIONS"
    APPEARANCE = "APPEARANCE"
    INTEGRATIONS = "INTEGRATIONS"
    ADVANCED = "ADVANCED"


@dataclass(frozen=True, slots=True)
class Definition:
    key: str
    type: SettingType
    category: SettingCategory
    label: str
    default: Any
    description: str | None = None
    is_public: bool = False
    is_editable: bool = True
    nullable: bool = False
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    max_length: int = 1000
    check: Callable[[Any], str | None] | None = None  # returns a problem, or None when fine
    secret: bool = False
    """Holds a credential or personal data (a webhook URL, contacts): only ADMIN reads the value."""

    def __post_init__(self) -> None:
        if self.secret and self.is_public:
            raise ValueError(f"setting {self.key} cannot be both public and secret")

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be stored under this key, or None when it can."""
        if value is None:
            return None if self.nullable else "may not be null"
        kind = self.type
        if kind in (SettingType.STRING, SettingType.SELECT):
            if not isinstance(value, str):
                return "must be a string"
            if kind is SettingType.SELECT and value not in self.options:
                return f"must be one of {', '.join(self.options)}"
            if len(value) > self.max_length:
                return f"must be at most {self.max_length} characters"
        elif kind is SettingType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return "must be a number"
            if self.integer and value != int(value):
                return "must be a whole number"
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum:g}"
        elif kind is SettingType.BOOLEAN:
            if not isinstance(value, bool):
                return "must be true or false"
        elif kind is SettingType.MULTI_SELECT:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                return "must be a list of strings"
            unknown = [item for item in value if item not in self.options]
            if unknown:
                return f"has unknown options {', '.join(unknown)}; allowed: {', '.join(self.options)}"
            if len(set(value)) != len(value):
                return "must not repeat an option"
        return self.check(value) if self.check is not None else None


def _timezone(value: Any) -> str | None:
    return None if value in TIMEZONES else "must be an IANA time zone name such as Asia/Almaty"


def _not_blank(value: Any) -> str | None:
    return "must not be blank" if not value.strip() else None


G, S, N, A, INT, X = (
    SettingCategory.GENERAL,
    SettingCategory.SECURITY,
    SettingCategory.NOTIFICATIONS,
    SettingCategory.APPEARANCE,
    SettingCategory.INTEGRATIONS,
    SettingCategory.ADVANCED,
)
STRING, NUMBER, BOOLEAN, SELECT = (
    SettingType.STRING,
    SettingType.NUMBER,
    SettingType.BOOLEAN,
    SettingType.SELECT,
)

DATE_FORMATS = ("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD.MM.YYYY")

DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "app.name",
        STRING,
        G,
        "Application name",
        "Smart City TVMS",
        is_public=True,
        max_length=100,
        check=_not_blank,
    ),
    Definition("app.logo", STRING, A, "Logo URL", None, is_public=True, nullable=True, max_length=2048),
    Definition("app.language", SELECT, G, "Language", "en", is_public=True, options=("en", "ru", "kk")),
    Definition(
        "app.timezone",
        STRING,
        G,
        "Time zone",
        "Asia/Almaty",
        is_public=True,
        description="IANA zone used for reports and the console",
        check=_timezone,
    ),
    Definition(
        "app.dateFormat", SELECT, G, "Date format", "DD/MM/YYYY", is_public=True, options=DATE_FORMATS
    ),
    Definition("app.timeFormat", SELECT, G, "Time format", "24h", is_public=True, options=("24h", "12h")),
    Definition(
        "app.firstDayOfWeek",
        NUMBER,
        G,
        "First day of the week",
        1,
        is_public=True,
        description="0 = Sunday … 6 = Saturday",
        minimum=0,
        maximum=6,
        integer=True,
    ),
    Definition(
        "security.sessionTimeout",
        NUMBER,
        S,
        "Session timeout (hours)",
        24,
        minimum=1,
        maximum=720,
        integer=True,
    ),
    Definition(
        "security.maxLoginAttempts",
        NUMBER,
        S,
        "Failed logins before lockout",
        5,
        minimum=1,
        maximum=100,
        integer=True,
    ),
    Definition(
        "security.lockoutDuration",
        NUMBER,
        S,
        "Lockout duration (minutes)",
        30,
        minimum=1,
        maximum=1440,
        integer=True,
    ),
    Definition(
        "security.passwordExpiry",
        NUMBER,
        S,
        "Password expiry (days)",
        90,
        description="0 = never",
        minimum=0,
        maximum=3650,
        integer=True,
    ),
    Definition("security.mfaEnabled", BOOLEAN, S, "Multi-factor authentication", False),
    Definition(
        "security.passwordMinLength",
        NUMBER,
        S,
        "Minimum password length",
        8,
        minimum=6,
        maximum=72,
        integer=True,
    ),
    Definition("security.passwordRequireUppercase", BOOLEAN, S, "Passwords need an upper-case letter", True),
    Definition("security.passwordRequireDigit", BOOLEAN, S, "Passwords need a digit", True),
    Definition("security.passwordRequireSymbol", BOOLEAN, S, "Passwords need a symbol", False),
    Definition("notifications.emailEnabled", BOOLEAN, N, "E-mail notifications", False),
    Definition("notifications.smsEnabled", BOOLEAN, N, "SMS notifications", False),
    Definition(
        "notifications.webhookUrl",
        STRING,
        N,
        "Webhook URL",
        None,
        nullable=True,
        max_length=2048,
        secret=True,
    ),
    Definition(
        "notifications.recipients",
        SettingType.JSON,
        N,
        "Recipients",
        [],
        description="E-mail addresses or phone numbers to notify",
        secret=True,
    ),
    Definition(
        "notifications.events",
        SettingType.MULTI_SELECT,
        N,
        "Notify on",
        ["SENSOR_OFFLINE"],
        options=("SENSOR_OFFLINE", "SENSOR_ERROR", "VIOLATION", "ACCIDENT", "STORAGE_FULL", "REPORT_READY"),
    ),
    Definition(
        "storage.quotaBytes",
        NUMBER,
        INT,
        "Storage quota (bytes)",
        10 * 1024**3,
        minimum=0,
        maximum=2**53,
        integer=True,
    ),
    Definition(
        "reports.maxRunningPerUser",
        NUMBER,
        X,
        "Reports queued or running per user",
        3,
        minimum=1,
        maximum=100,
        integer=True,
    ),
    Definition("features.analytics", BOOLEAN, X, "Analytics dashboards", True, is_public=True),
    Definition("features.incidents", BOOLEAN, X, "Incident detection", True, is_public=True),
    Definition("features.violationReview", BOOLEAN, X, "Violation review workflow", True, is_public=True),
    Definition("features.evidenceUpload", BOOLEAN, X, "Evidence uploads from devices", True, is_public=True),
    Definition(
        "security.passwordHashScheme",
        STRING,
        S,
        "Password hashing",
        "bcrypt",
        description="Fixed by the server",
        is_editable=False,
    ),
)

BY_KEY: dict[str, Definition] = {definition.key: definition for definition in DEFINITIONS}
FEATURE_PREFIX = "features."
NOTIFICATION_PREFIX = "notifications."
