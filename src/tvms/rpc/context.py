"""What a procedure gets to see: one typed `Context` per call, and the process-wide `Services`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from tvms.rpc.auth import Principal
from tvms.rpc.credentials import Credentials
from tvms.rpc.origin import base_url
from tvms.rpc.service_metrics import ServiceMetrics

if TYPE_CHECKING:
    from tvms.cache import Cache
    from tvms.clock import Clock
    from tvms.config import Config
    from tvms.db import Database
    from tvms.limiter import RateLimiter
    from tvms.readiness import Readiness
    from tvms.rpc.router import Procedure
    from tvms.security.passwords import Passwords
    from tvms.storage import Storage

Resolver = Callable[[Credentials, "Services"], Awaitable[Principal | None]]
"""Finds the principal for a request's credentials; returns None when there are none and
raises RpcError(UNAUTHORIZED) when they are present but invalid."""


async def no_principal(credentials: Credentials, services: Services) -> Principal | None:
    """The default resolver: nobody is ever signed in."""
    return None


@dataclass(slots=True)
class Services:
    """Long-lived state created by the app's lifespan and shared by every call.

    This and the API's own `state` are all the per-app state there is: each piece is made once,
    in the lifespan (`tvms.app`), never on first use.
    """

    config: Config
    db: Database
    storage: Storage
    cache: Cache
    clock: Clock
    readiness: Readiness
    """Whether the database and storage answer (`/readyz`, `system.health`)."""
    passwords: Passwords
    """bcrypt at the configured cost (`Config.bcrypt_rounds`), off the event loop."""
    rate_limiter: RateLimiter | None = None
    """The count behind `tvms.ratelimit`; None when the limit is off (`TVMS_RATE_LIMIT=0`)."""
    resolver: Resolver = no_principal
    started: float = field(default_factory=time.monotonic)
    state: object = None
    """The API's own state, made by `Api.state` once the services above exist. The core never
    looks inside; the API reads it through one typed accessor (`procedures.state.state_of`)."""
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    """Counters of sign-in failures, lockouts and storage errors; the pool gauge."""


class Caller:
    """One HTTP request's caller: resolves the principal at most once, and only when needed.

    `seen` counts, per name, things a procedure allows once per request (e.g. a login), so
    that a batch cannot multiply expensive work.
    """

    __slots__ = ("_error", "_principal", "_resolved", "credentials", "finished", "seen")

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._resolved = False
        self._principal: Principal | None = None
        self._error: BaseException | None = None
        self.seen: dict[str, int] = {}
        self.finished: list[tuple[str, str, str, float, str | None]] = []
        """(procedure, kind, outcome, seconds, principal id) of each call this request ran, for
        the metrics and the access log, which the dispatcher records once per request."""

    def forget(self) -> None:
        """Resolve again on next use: the credentials were just revoked or changed."""
        self._resolved = False
        self._principal = None
        self._error = None

    async def principal(self, services: Services) -> Principal | None:
        if not self._resolved:
            if self.credentials.bearer is None and self.credentials.api_key is None:
                self._principal = None
            else:
                try:
                    self._principal = await services.resolver(self.credentials, services)
                except Exception as exc:  # remembered so every item of a batch sees the same
                    self._error = exc
            self._resolved = True
        if self._error is not None:
            raise self._error
        return self._principal


class Context:
    """One call's view of the world: who, which request, and the shared services."""

    __slots__ = ("_caller", "input", "params", "path", "principal", "procedure", "request_id", "services")

    def __init__(
        self,
        services: Services,
        procedure: Procedure,
        path: str,
        request_id: str,
        caller: Caller,
    ) -> None:
        self.services = services
        self.procedure = procedure
        self.path = path
        self.request_id = request_id
        self._caller = caller
        self.principal: Principal | None = None
        self.params: bytes | memoryview | msgspec.Raw = b""  # raw input, decoded at the chain's end
        self.input: Any = None  # the decoded input, once authorised

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def cache(self) -> Cache:
        return self.services.cache

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def credentials(self) -> Credentials:
        return self._caller.credentials

    @property
    def base_url(self) -> str:
        """The service's public base URL for this request (see `tvms.rpc.origin`)."""
        return base_url(self.services.config, self._caller.credentials)

    def once_per_request(self, name: str) -> bool:
        """True the first time `name` is asked for within this HTTP request (a batch), else False."""
        count = self._caller.seen.get(name, 0)
        self._caller.seen[name] = count + 1
        return count == 0

    def credentials_changed(self) -> None:
        """The caller's own token was revoked or its user changed: later items of the same
        batch must resolve the credentials again instead of reusing this request's principal."""
        self._caller.forget()

    async def resolve_principal(self) -> Principal | None:
        """The verified caller, for public procedures that behave differently when signed in.

        For any other procedure the dispatcher has already set `ctx.principal`.
        """
        if self.principal is None:
            self.principal = await self._caller.principal(self.services)
        return self.principal
