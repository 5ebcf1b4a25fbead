"""The `tvms` command: serve, migrate, openrpc, gen-client, conformance, seed, create-user, agent,
simulate.

Importing this module builds no app: the API (`procedures`), the HTTP server stack and the
token signing libraries are imported by the subcommands that use them, so `tvms --help` and
the tools stay light (tests/test_cli.py checks it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

import msgspec

from tvms import __version__
from tvms.clientgen import register as register_gen_client
from tvms.config import ENVIRONMENT, SERVERS, Config, ConfigError, load_config, log_level_number
from tvms.conformance import register as register_conformance
from tvms.db import DatabaseError
from tvms.db.migrate import run_migrations
from tvms.edge.command import register as register_edge
from tvms.logs import setup_logging
from tvms.seeding import register as register_seeding

log = logging.getLogger("tvms.serve")


def require_shared_secret(config: Config) -> None:
    """Several processes (workers, or replicas on one PostgreSQL) must sign tokens with one key:
    a key generated per process would make each reject the others' tokens."""
    if config.secret_key is not None:
        return
    if config.workers > 1:
        raise ConfigError(f"TVMS_SECRET_KEY must be set to serve with {config.workers} workers")
    if config.resolved_database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("TVMS_SECRET_KEY must be set when serving from PostgreSQL (replicas share it)")


def _serve(args: argparse.Namespace, config: Config) -> int:
    from tvms.security.tokens import load_secret
    from tvms.server import serve

    config = replace(
        config,
        host=args.host or config.host,
        port=args.port or config.port,
        workers=args.workers or config.workers,
        server=args.server or config.server,
    )
    require_shared_secret(config)
    load_secret(config)  # generated once here, before the workers read it
    version = asyncio.run(run_migrations(config))
    url = f"http://{config.host}:{config.port}"
    log.info(
        "tvms %s serving on %s with %d worker(s) on %s, schema version %d",
        __version__,
        url,
        config.workers,
        config.server,
        version,
        extra={
            "fields": {
                "version": __version__,
                "url": url,
                "workers": config.workers,
                "server": config.server,
                "schema": version,
            }
        },
    )
    # Worker processes read their configuration from the environment.
    os.environ.update({"TVMS_HOST": config.host, "TVMS_PORT": str(config.port)})
    return serve(config)


def _migrate(args: argparse.Namespace, config: Config) -> int:
    version = asyncio.run(run_migrations(config))
    print(f"tvms: database at schema version {version}")
    return 0


def _openrpc(args: argparse.Namespace, config: Config) -> int:
    from tvms.server import build_app

    app = build_app(config)
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(app.state.openrpc)).decode() + "\n")
    return 0


def environment_help() -> str:
    """The epilog of `tvms --help`: every environment variable (from `tvms.config.ENVIRONMENT`)."""
    lines = [f"  {name:<24}{meaning}" for name, meaning in ENVIRONMENT]
    return "environment (read and checked once at start):\n" + "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="tvms",
        description="Smart City TVMS backend: a typed JSON-RPC 2.0 service and its tools.",
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"tvms {__version__}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP server (applies migrations first)",
        description="Apply pending migrations, then serve /rpc, /trpc, /healthz, /readyz and /metrics"
        " with uvicorn (or hypercorn: --server). Every replica behind a load balancer runs this with"
        " the same TVMS_SECRET_KEY, TVMS_DATABASE_URL and TVMS_STORAGE_URL.",
    )
    serve.add_argument("--host", help="address to bind (TVMS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TVMS_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (TVMS_WORKERS, default 1)")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        help="HTTP server (TVMS_SERVER, default uvicorn; hypercorn also speaks HTTP/2)",
    )
    serve.set_defaults(run=_serve)
    commands.add_parser(
        "migrate",
        help="apply schema.sql to the database",
        description="Apply every schema block the database does not have yet (safe to run again,"
        " and from several hosts at once).",
    ).set_defaults(run=_migrate)
    commands.add_parser(
        "openrpc",
        help="print the OpenRPC document",
        description="Print the OpenRPC document of every procedure (the same as GET /openrpc.json).",
    ).set_defaults(run=_openrpc)
    register_gen_client(commands)
    register_conformance(commands)
    register_seeding(commands)
    register_edge(commands)
    for name, command in commands.choices.items():  # a subcommand's help is at least its summary
        if command.description is None:
            summary = next((a.help for a in commands._choices_actions if a.dest == name), None)
            command.description = f"{summary[0].upper()}{summary[1:]}." if summary else None
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config()
        if getattr(args, "port", None) is not None and not 1 <= args.port <= 65535:
            raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
        if getattr(args, "workers", None) is not None and not 1 <= args.workers <= 64:
            raise ConfigError(f"--workers must be between 1 and 64, got {args.workers}")
        setup_logging(log_level_number(config))
        code: int = args.run(args, config)
        return code
    except ConfigError as exc:
        print(f"tvms: {exc}", file=sys.stderr)
        return 2
    except (DatabaseError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tvms: cannot open the database (TVMS_DATABASE_URL): {reason}", file=sys.stderr)
        return 2
