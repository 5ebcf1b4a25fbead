"""`system.getLicense`: the licence this installation runs under, and its limits.

The documented default is an unlimited self-hosted enterprise licence; `TVMS_LICENSE_FILE`
points at a JSON file with the same fields to change it (read at most every few seconds).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec

from procedures.schemas import IsoTime, Output
from tvms.config import Config, ConfigError
from tvms.rpc import PUBLIC, Context, Router
from tvms.rpc.router import Example

router = Router("system")

FEATURES = [
    "dashboard",
    "sensors",
    "reports",
    "analytics",
    "incidents",
    "traffic",
    "locations",
    "users",
    "settings",
]


class LicenseFile(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    type: str = "enterprise"
    expires_at: datetime | None = None
    features: list[str] = msgspec.field(default_factory=lambda: list(FEATURES))
    max_users: int = -1
    max_sensors: int = -1
    organization: str = "ITMS Solutions"
    issued_at: datetime = msgspec.field(
        default_factory=lambda: datetime.fromisoformat("2024-01-01T00:00:00Z")
    )


class License(Output):
    valid: bool
    type: str
    expires_at: IsoTime | None
    features: list[str]
    max_users: int
    max_sensors: int
    organization: str
    issued_at: IsoTime


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_license_file(path: Path | None) -> LicenseFile:
    """The licence terms: the file's, or the documented default when there is none."""
    if path is None:
        return LicenseFile()
    try:
        return msgspec.json.decode(path.read_bytes(), type=LicenseFile)
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"TVMS_LICENSE_FILE {path.name}: {exc}") from None


def check_license_file(config: Config) -> None:
    """Start-up check: a licence file that does not parse stops the server with one clear line."""
    read_license_file(config.license_file)


async def current_license(ctx: Context) -> LicenseFile:
    """The licence terms (cached briefly); other routers use it to enforce the limits."""

    async def load() -> LicenseFile:
        return read_license_file(ctx.config.license_file)

    return await ctx.cache.get_or_load("license", load)


@router.query(
    "getLicense",
    auth=PUBLIC,
    examples=[
        Example(
            "the default self-hosted licence",
            result={
                "valid": True,
                "type": "enterprise",
                "expiresAt": None,
                "features": FEATURES,
                "maxUsers": -1,
                "maxSensors": -1,
                "organization": "ITMS Solutions",
                "issuedAt": "2024-01-01T00:00:00.000Z",
            },
        )
    ],
)
async def get_license(ctx: Context) -> License:
    """The licence: type, expiry, enabled features and the user and sensor limits (-1 = unlimited).

    `valid` turns false at `expiresAt` (within the few seconds the answer is cached).
    """

    async def build() -> License:
        terms = await current_license(ctx)
        expires = terms.expires_at
        return License(
            valid=expires is None or expires > ctx.clock.now(),
            type=terms.type,
            expires_at=None if expires is None else _iso(expires),
            features=terms.features,
            max_users=terms.max_users,
            max_sensors=terms.max_sensors,
            organization=terms.organization,
            issued_at=_iso(terms.issued_at),
        )

    return await ctx.cache.get_or_load("license:view", build)
