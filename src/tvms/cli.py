"""The `tvms` command: serve, migrate, openrpc, gen-client, conformance, seed, create-user."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import msgspec

from procedures import seed
from tvms.clientgen import register as register_gen_client
from tvms.config import SERVERS, Config, ConfigError, load_config, log_level_number
from tvms.conformance import register as register_conformance
from tvms.db import DatabaseError
from tvms.logs import setup_logging
from tvms.security.tokens import load_secret

SCHEMA = Path(__file__).resolve().parents[2] / "schema.sql"


def schema_text() -> str:
    """schema.sql from the source tree (the service runs from its checkout)."""
    if not SCHEMA.is_file():
        raise ConfigError(f"schema.sql not found next to the source tree ({SCHEMA.parent.name})")
    return SCHEMA.read_text()


async def run_migrations(config: Config) -> int:
    from tvms.db import migrate, open_database

    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = await open_database(config.resolved_database_url)
    try:
        return await migrate(db, schema_text())
    finally:
        await db.close()


def _serve(args: argparse.Namespace, config: Config) -> int:
    from tvms.server import serve

    config = replace(
        config,
        host=args.host or config.host,
        port=args.port or config.port,
        workers=args.workers or config.workers,
        server=args.server or config.server,
    )
    load_secret(config)  # generated once here, before the workers read it
    version = asyncio.run(run_migrations(config))
    print(
        f"tvms: schema version {version}; serving on http://{config.host}:{config.port}"
        f" with {config.workers} worker(s) on {config.server}",
        file=sys.stderr,
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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tvms", description="Smart City TVMS backend")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server (applies migrations first)")
    serve.add_argument("--host", help="address to bind (TVMS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TVMS_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (TVMS_WORKERS, default 1)")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        help="HTTP server (TVMS_SERVER, default uvicorn; hypercorn also speaks HTTP/2)",
    )
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="apply schema.sql to the database").set_defaults(run=_migrate)
    commands.add_parser("openrpc", help="print the OpenRPC document").set_defaults(run=_openrpc)
    register_gen_client(commands)
    register_conformance(commands)
    seed.register(commands)
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
