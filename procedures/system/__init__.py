"""`system.*`: licence, time zone, health and the public settings."""

from procedures.system.health import system
from procedures.system.license import check_license_file, license_router
from procedures.system.timezone import timezone

__all__ = ["check_license_file", "license_router", "system", "timezone"]
