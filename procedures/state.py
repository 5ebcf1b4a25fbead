"""The API's own long-lived state: one typed `ApiState` per app, made once by the lifespan.

`procedures.api()` hands `api_state` to `Api(state=...)`; the lifespan calls it once the core
services (database, storage, clock) exist and keeps the value in `Services.state`. Procedures
and hooks read it with `state_of(ctx.services)`. This, `tvms.rpc.Services` and the lifespan in
`tvms.app` are every piece of per-app state there is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tvms.rpc import Services

if TYPE_CHECKING:  # these modules never import this one: the imports stay a tree
    from procedures.audit.refusals import Refusals
    from procedures.commands.store import Wakeups
    from procedures.storage.usage import Usage


class Worker(Protocol):
    """A background worker that a new job can wake (`procedures.reports.worker.ReportWorker`)."""

    def wake(self) -> None: ...


@dataclass(slots=True)
class ApiState:
    """Everything the API keeps for the lifetime of one app, besides the core `Services`."""

    secret_key: bytes
    """Signs session tokens and seals MFA secrets (`TVMS_SECRET_KEY` or the data dir's key file)."""
    refusals: Refusals
    """Open windows of unauthenticated refusals, summarised in the audit log."""
    usage: Usage
    """The storage usage walk, shared and reused by `storage.getStats` and the quota check."""
    wakeups: Wakeups
    """Long polls of field devices waiting for a command, by device."""
    sweep_wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set to make the heartbeat sweeper re-plan now (a sensor's timeout changed)."""
    report_worker: Worker | None = None
    """The report worker, while this process runs it (the `report_worker` hook sets it)."""


def state_of(services: Services) -> ApiState:
    """The API's state of this app (made by `api_state` when the app started)."""
    state = services.state
    if not isinstance(state, ApiState):
        raise TypeError(
            f"Services.state is {type(state).__name__}, not ApiState: build the Api with state=api_state"
        )
    return state
