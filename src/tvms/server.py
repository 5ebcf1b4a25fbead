"""Building the real application and serving it with hypercorn on uvloop."""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from tvms.app import create_app
from tvms.config import Config, load_config, log_level_number
from tvms.logs import setup_logging


def build_app(config: Config | None = None) -> Starlette:
    """The service with every procedure of the API."""
    from procedures import api  # the one place the framework meets the API

    config = config or load_config()
    return create_app(config, api())


def asgi_app() -> Starlette:
    """Factory used by every hypercorn worker process (configuration from the environment)."""
    config = load_config()
    setup_logging(log_level_number(config))
    return build_app(config)


def serve(config: Config) -> int:
    from hypercorn.config import Config as HypercornConfig
    from hypercorn.run import run

    server = HypercornConfig()
    server.application_path = "tvms.asgi:app"
    server.bind = [f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}"]
    server.worker_class = "uvloop"
    server.workers = 0 if config.workers == 1 else config.workers
    server.accesslog = None
    server.errorlog = logging.getLogger("hypercorn.error")  # through our JSON handler, once
    server.loglevel = config.log_level
    server.graceful_timeout = 5.0
    return run(server)
