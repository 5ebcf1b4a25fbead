"""The benchmark server: the real app plus a bare Starlette endpoint, on one hypercorn worker.

`/bare` returns exactly the bytes `system.getLicense` answers over `/rpc`, so the difference
between the two is the cost of our JSON-RPC layer on the same server and middleware.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from procedures import api
from tvms.app import create_app
from tvms.config import load_config, log_level_number
from tvms.logs import setup_logging


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", required=True, help="file with the bytes /bare returns")
    args = parser.parse_args()
    body = Path(args.body).read_bytes()

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    config = load_config()
    setup_logging(log_level_number(config))
    the_api = api()
    app = create_app(
        config, dataclasses.replace(the_api, routes=[*the_api.routes, Route("/bare", bare, methods=["POST"])])
    )
    server = HypercornConfig()
    server.bind = [f"127.0.0.1:{args.port}"]
    server.accesslog = None
    server.errorlog = None
    uvloop.run(serve(app, server))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
