"""The ASGI application, built from values: `create_app(config, api)`.

The lifespan opens the database (lazily: no connection until a query needs one), storage and
cache, runs the API's hooks (background sweeps and the like) and closes everything on exit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.applications import Starlette
from starlette.middleware import Middleware as AsgiMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tvms import __version__
from tvms.cache import Cache
from tvms.clock import Clock
from tvms.cluster import Hook, cluster_lock, once_per_cluster
from tvms.config import Config
from tvms.console import console_fallback
from tvms.db import open_database
from tvms.limiter import RateLimiter
from tvms.logs import AccessLog
from tvms.readiness import Readiness
from tvms.rpc import Dispatcher, Middleware, Resolver, Router, Services, flatten
from tvms.rpc.auth import roles
from tvms.rpc.context import no_principal
from tvms.rpc.credentials import Credentials
from tvms.rpc.errors import ErrorCode, RpcError
from tvms.rpc.guard import BodyBudget, HttpGuard
from tvms.rpc.http import RpcEndpoint, credentials_of
from tvms.rpc.metrics import Metrics, exposition, forget_dead_processes
from tvms.rpc.openrpc import build_document, with_server
from tvms.rpc.origin import base_url
from tvms.rpc.request_id import RequestIdMiddleware, assign_request_id, request_id_of
from tvms.rpc.service_metrics import Scrape, ServiceMetrics, cluster_families
from tvms.security.passwords import Passwords
from tvms.storage import open_storage
from tvms.trpc import trpc_routes

log = logging.getLogger("tvms.http")
_MAX_DOCUMENTS = 16
ADMIN_ONLY = roles("ADMIN")

DESCRIPTION = (
    "Smart City TVMS: traffic sensors, cameras, ANPR units, radars, edge gateways and NVRs; "
    "traffic events and violations; operators, reports and settings. JSON-RPC 2.0 over POST /rpc."
)


@dataclass(frozen=True)
class Api:
    """Everything the service serves: routers, how callers are identified, call wrappers."""

    routers: Sequence[Router]
    resolver: Resolver = no_principal
    middleware: Sequence[Middleware] = ()
    mutation_middleware: Sequence[Middleware] = ()
    """Wrappers for mutations only (after `middleware`), such as the audit log."""
    hooks: Sequence[Hook] = ()
    """Periodic work (e.g. a background sweep): runs in one process of the cluster at a time
    (see `tvms.cluster`), entered after start-up."""
    routes: Sequence[BaseRoute] = field(default_factory=tuple)
    checks: Sequence[Callable[[Config], None]] = ()
    """Start-up checks of the configuration; each raises ConfigError with a one-line message."""
    state: Callable[[Services], object] = lambda services: None
    """Makes the API's own long-lived state (`Services.state`) once the core services exist."""
    scrapes: Sequence[Scrape[Services]] = ()
    """Cluster-wide metrics read from the database at each `/metrics` scrape (bounded in time)."""


def _cors(origins: Sequence[str]) -> AsgiMiddleware:
    exact = [origin for origin in origins if "*" not in origin or origin == "*"]
    patterns = [
        re.escape(origin).replace(r"\*", r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
        for origin in origins
        if "*" in origin and origin != "*"
    ]
    return AsgiMiddleware(
        CORSMiddleware,
        allow_origins=exact,
        allow_origin_regex="|".join(patterns) or None,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=[
            "Content-Type",
            "Authorization",
            "x-trpc-source",
            "X-API-Key",
            "X-Request-Id",
        ],
        expose_headers=["X-Request-Id"],
        max_age=600,
    )


class _FastPath:
    """`POST /rpc` and `/trpc/…` without an `Origin` header (servers, scripts, the generated
    clients: no CORS to apply) go straight to the guard and their endpoint; every other request
    through Starlette's whole stack. Measured, that stack (CORS, error pages, routing) cost as
    much per request as the endpoint itself. The answer is the same either way, `Vary: Origin`
    included: the `/trpc` route is matched by its own `Route` (path parameters, 405s and all).
    """

    def __init__(
        self, full: ASGIApp, rpc: ASGIApp, trpc: tuple[Route, ASGIApp] | None, *, vary: bool
    ) -> None:
        self.full = full
        self.rpc = rpc
        self.trpc = trpc
        self.vary = vary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.full(scope, receive, send)
            return
        path: str = scope["path"]
        child: Scope | None = None
        if path == "/rpc" and scope["method"] == "POST":
            app = self.rpc
        elif self.trpc is not None and path.startswith("/trpc/"):
            route, app = self.trpc
            match, child = route.matches(scope)
            if match is not Match.FULL:
                await self.full(scope, receive, send)
                return
        else:
            await self.full(scope, receive, send)
            return
        given = None
        for key, value in scope["headers"]:
            if key == b"origin":
                await self.full(scope, receive, send)
                return
            if key == b"x-request-id" and given is None:
                given = value
        if child is not None:
            scope.update(child)  # what the router does with the route it matched
        # What the request id middleware and CORS (a request without Origin) add, in one step.
        request_id = (b"x-request-id", assign_request_id(scope, given))
        added = [_VARY_ORIGIN, request_id] if self.vary else [request_id]
        started = False

        async def send_headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        try:
            await app(scope, receive, send_headed)
        except Exception:  # what Starlette's error middleware does on the other path
            log.exception(
                "internal error serving %s %s (request %s)", scope["method"], path, request_id_of(scope)
            )
            if started:
                raise
            headers = [*_ERROR_PAGE_HEADERS, request_id]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": _ERROR_PAGE})


_ERROR_PAGE = b"Internal Server Error"
_ERROR_PAGE_HEADERS = (  # Starlette's page, outside CORS: no Vary
    (b"content-length", str(len(_ERROR_PAGE)).encode()),
    (b"content-type", b"text/plain; charset=utf-8"),
)
_VARY_ORIGIN = (b"vary", b"Origin")


class _Application(Starlette):
    """Starlette with the request id outermost, so that even its own 500 page carries one, and
    in front of both the fast path for `POST /rpc` and `/trpc/…` (which sets the id itself)."""

    fast_rpc: ASGIApp | None = None
    fast_trpc: tuple[Route, ASGIApp] | None = None
    vary: bool = True

    def build_middleware_stack(self) -> ASGIApp:
        full = super().build_middleware_stack()
        if self.fast_rpc is None:
            return RequestIdMiddleware(full)
        return _FastPath(RequestIdMiddleware(full), self.fast_rpc, self.fast_trpc, vary=self.vary)


def create_app(
    config: Config,
    api: Api,
    *,
    clock: Clock | None = None,
    validate_output: bool = False,
) -> Starlette:
    for check in api.checks:
        check(config)
    registry = flatten(api.routers)
    metrics = Metrics(config.metrics_dir)
    service_metrics = ServiceMetrics(metrics.registry)
    access_log = AccessLog()  # this app's lines, written once per event-loop turn
    budget = BodyBudget(config.body_buffer_bytes)
    endpoint = RpcEndpoint(
        None,
        max_body=config.max_body_bytes,
        timeout=config.request_timeout,
        budget=budget,
        body_timeout=config.body_timeout,
    )
    document: dict[str, Any] = build_document(
        registry,
        title="TVMS API",
        version=__version__,
        description=DESCRIPTION,
        server_url=base_url(config) + "/rpc",
    )
    documents: dict[str, bytes] = {}

    def document_bytes(credentials: Credentials | None) -> bytes:
        """The document announcing the server as this request reached it (absolute URL)."""
        base = base_url(config, credentials)
        encoded = documents.get(base)
        if encoded is None:
            encoded = msgspec.json.encode(with_server(document, base + "/rpc"))
            if len(documents) < _MAX_DOCUMENTS:  # a client choosing Host headers cannot grow it
                documents[base] = encoded
        return encoded

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if config.metrics_dir is not None:
                forget_dead_processes(config.metrics_dir)
            db = await open_database(config.resolved_database_url, fast_paths=config.db_fast_paths)
            stack.push_async_callback(db.close)
            storage = open_storage(
                config.resolved_storage_url, config=config, on_error=service_metrics.storage_failed
            )
            stack.push_async_callback(storage.close)
            the_clock = clock or Clock()
            limit, window_ms = config.rate_limit, int(config.rate_limit_window_s * 1000)
            services = Services(
                config=config,
                db=db,
                storage=storage,
                cache=Cache(the_clock),
                clock=the_clock,
                readiness=Readiness(db, storage),
                passwords=Passwords(config.bcrypt_rounds),
                rate_limiter=RateLimiter(db, limit, window_ms) if limit > 0 else None,
                resolver=api.resolver,
                metrics=service_metrics,
            )
            services.state = api.state(services)
            await stack.enter_async_context(service_metrics.sampling(db))
            endpoint.dispatcher = Dispatcher(
                registry,
                services,
                middleware=api.middleware,
                mutation_middleware=api.mutation_middleware,
                max_batch=config.max_batch,
                discover=lambda caller: document_bytes(caller.credentials),
                metrics=metrics,
                access_log=access_log,
                validate_output=validate_output,
            )
            app.state.services = services
            app.state.dispatcher = endpoint.dispatcher
            lock = cluster_lock(config.resolved_database_url)
            await stack.enter_async_context(once_per_cluster(lock, api.hooks, services))
            yield

    async def openrpc(request: Request) -> Response:
        return Response(document_bytes(credentials_of(request.scope)), media_type="application/json")

    async def healthz(request: Request) -> Response:
        """Liveness: the process answers HTTP (whatever its database and storage do)."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Readiness: 503 while the database or the object store cannot serve (load balancers)."""
        services: Services = request.app.state.services
        verdict = await services.readiness.verdict()
        checks = {name: "ok" if probe.ok else "error" for name, probe in verdict.checks()}
        if verdict.ready:
            return JSONResponse({"status": "ready", "checks": checks})
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)

    async def prometheus(request: Request) -> Response:
        services: Services = request.app.state.services
        service_metrics.sample_pool(services.db)
        cluster = exposition(await cluster_families(api.scrapes, services))
        return Response(metrics.render() + cluster, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    async def metrics_export(request: Request) -> Response:
        """The documented authenticated export: exactly what `/metrics` serves, to ADMIN tokens."""
        credentials = credentials_of(request.scope)
        services: Services = request.app.state.services
        try:
            if credentials.bearer is None:
                raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
            ADMIN_ONLY.check(await services.resolver(Credentials(bearer=credentials.bearer), services))
        except RpcError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.code is ErrorCode.UNAUTHORIZED else None
            return PlainTextResponse(exc.message + "\n", status_code=exc.code.http_status, headers=headers)
        return await prometheus(request)

    (trpc,) = trpc_routes(
        lambda: endpoint.dispatcher,
        max_body=config.max_body_bytes,
        timeout=config.request_timeout,
        budget=budget,
        body_timeout=config.body_timeout,
    )
    routes: list[BaseRoute] = [
        Route("/rpc", endpoint, methods=None),
        Route("/rpc/{procedure}", endpoint, methods=None),
        Route("/openrpc.json", openrpc, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/api/v1/metrics/export", metrics_export, methods=["GET"]),
        trpc,
        *api.routes,
    ]
    # CORS outermost, so that the guard's refusals carry its headers too.
    middleware = [_cors(config.cors_origins), AsgiMiddleware(HttpGuard, body_timeout=config.body_timeout)]
    app = _Application(routes=routes, middleware=middleware, lifespan=lifespan)
    app.fast_rpc = HttpGuard(endpoint, body_timeout=config.body_timeout)
    app.fast_trpc = (trpc, HttpGuard(trpc.handle, body_timeout=config.body_timeout))
    app.vary = "*" not in config.cors_origins  # as the CORS middleware answers a request without Origin
    app.router.default = console_fallback(app.router.not_found)  # when no route matched
    app.state.registry = registry
    app.state.openrpc = document
    return app
