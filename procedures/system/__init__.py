"""`system.*`: licence, time zone, health and the public settings."""

from procedures.system import health, timezone
from procedures.system import license as licence
from procedures.system.license import check_license_file
from tvms.rpc import Router

system = Router("system", include=[health.router, licence.router, timezone.router])
"""`system.health` and `system.getSettings`, `system.getLicense`, `system.timezone.*`."""

__all__ = ["check_license_file", "system"]
