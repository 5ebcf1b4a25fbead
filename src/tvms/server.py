"""Building the real application and serving it: uvicorn (httptools, uvloop) by default,
hypercorn (HTTP/2, uvloop) with `--server hypercorn` or `TVMS_SERVER=hypercorn`.

Measured on the project's machine (bench/README.md), uvicorn serves the same application at
about 3-4x hypercorn's requests per second: hypercorn parses HTTP in pure Python. The limits
that matter against hostile clients (body deadline and buffer bound, framing, request timeout,
body size) live in the application, so both servers enforce them alike.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from types import FrameType

from starlette.applications import Starlette

from tvms.app import create_app
from tvms.config import Config, load_config, log_level_number
from tvms.logs import setup_logging
from tvms.rpc.metrics import MULTIPROCESS_ENV

APP = "tvms.asgi:app"


def build_app(config: Config | None = None) -> Starlette:
    """The service with every procedure of the API."""
    from procedures import api  # the one place the framework meets the API

    config = config or load_config()
    return create_app(config, api())


def asgi_app() -> Starlette:
    """Factory used by every worker process (configuration from the environment)."""
    config = load_config()
    setup_logging(log_level_number(config))
    return build_app(config)


def _bind(config: Config) -> str:
    return f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}"


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    """Restored by uvicorn after its graceful shutdown, which then re-raises the signal it
    caught: ending normally (exit status 0) is what a stop asked for."""


def _uvicorn(config: Config, app: str) -> int:
    import uvicorn

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        workers=config.workers if config.workers > 1 else None,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,  # our JSON handler, set up by every worker
        log_level=config.log_level.lower(),
        access_log=False,  # the application writes its own access line per request
        proxy_headers=False,  # the client address is the peer's, as on hypercorn
        server_header=False,
        # In-flight calls end within the request timeout; shutdown waits for them that long.
        timeout_graceful_shutdown=int(config.request_timeout) + 1,
    )
    return 0


def _hypercorn(config: Config, app: str) -> int:
    from hypercorn.config import Config as HypercornConfig
    from hypercorn.run import run

    server = HypercornConfig()
    server.application_path = app
    server.bind = [_bind(config)]
    server.worker_class = "uvloop"
    server.workers = 0 if config.workers == 1 else config.workers
    server.accesslog = None
    server.errorlog = logging.getLogger("hypercorn.error")  # through our JSON handler, once
    server.loglevel = config.log_level
    server.graceful_timeout = config.request_timeout + 1
    return run(server)


def serve(config: Config, app: str = APP) -> int:
    """Serve `app` (an import path, which every worker imports) until SIGTERM or SIGINT.

    Workers share one metrics directory, made here and removed at exit, unless the operator
    set `PROMETHEUS_MULTIPROC_DIR` (each worker reads its configuration from the environment).
    """
    run = _hypercorn if config.server == "hypercorn" else _uvicorn
    if config.metrics_dir is not None:  # the operator's own directory: used, and kept
        return run(config, app)
    directory = tempfile.mkdtemp(prefix="tvms-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    try:
        return run(config, app)
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
