"""The TVMS API: one router per tRPC router of the platform, wired into one `Api` value."""

from __future__ import annotations

from procedures.audit import audit, audit_middleware, refusal_summaries
from procedures.audit.refusals import Refusals
from procedures.auth import auth, resolve_bearer
from procedures.commands import Wakeups, command_sweeper, commands, devices
from procedures.events import events
from procedures.locations import locations
from procedures.metrics import metrics, metrics_retention
from procedures.reports import report_worker, reports
from procedures.sensors import heartbeat_sweeper, resolve_api_key, sensors
from procedures.settings import settings
from procedures.state import ApiState
from procedures.storage import storage_router
from procedures.storage.usage import Usage
from procedures.system import check_license_file, system
from procedures.users import users
from tvms.app import Api
from tvms.ratelimit import rate_limit
from tvms.rpc import Credentials, Principal, Services
from tvms.security.tokens import check_secret, load_secret
from tvms.storage import storage_routes


async def resolve_caller(credentials: Credentials, services: Services) -> Principal | None:
    """A user by `Authorization: Bearer <JWT>`, else a field device by `X-API-Key`."""
    if credentials.bearer is not None:
        return await resolve_bearer(credentials, services)
    if credentials.api_key is not None:
        return await resolve_api_key(credentials, services)
    return None


def api_state(services: Services) -> ApiState:
    """The API's own state for one app (`Api.state`): made once, when the app starts."""
    return ApiState(
        secret_key=load_secret(services.config),
        refusals=Refusals(),
        usage=Usage(services.storage, services.clock),
        wakeups=Wakeups(),
    )


def api() -> Api:
    """Everything `tvms serve` serves."""
    return Api(
        routers=[
            system,
            settings,
            auth,
            users,
            audit,
            sensors,
            locations,
            events,
            storage_router,
            reports,
            commands,
            devices,
            metrics,
        ],
        resolver=resolve_caller,
        middleware=[rate_limit],
        mutation_middleware=[audit_middleware],
        hooks=[heartbeat_sweeper, report_worker, refusal_summaries, command_sweeper, metrics_retention],
        routes=storage_routes(),
        checks=[check_license_file, check_secret],
        state=api_state,
    )
