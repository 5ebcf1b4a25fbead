"""Serve `tests.serving.slow_app:app` exactly as `tvms serve` serves the real one (same `serve`,
server choice, workers and limits from the environment): `python -m tests.serving.run --port N`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from tvms.config import load_config, log_level_number
from tvms.db.migrate import run_migrations
from tvms.logs import setup_logging
from tvms.security.tokens import load_secret
from tvms.server import serve


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = dataclasses.replace(load_config(), port=args.port)
    setup_logging(log_level_number(config))
    load_secret(config)
    asyncio.run(run_migrations(config))
    return serve(config, "tests.serving.slow_app:app")


if __name__ == "__main__":
    sys.exit(main())
