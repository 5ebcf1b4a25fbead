"""The benchmark server: the real app plus a bare Starlette endpoint, on one hypercorn worker.

`POST /bare` returns exactly the bytes `system.getLicense` answers over `/rpc` (computed once,
by the dispatcher, on the first request), so the difference between the two is the cost of our
JSON-RPC layer on the same server, middleware and event loop.
"""

from __future__ import annotations

import argparse
import dataclasses

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
from tvms.rpc import Caller, Credentials

LICENSE_CALL = b'{"jsonrpc":"2.0","method":"system.getLicense","id":1}'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = load_config()
    setup_logging(log_level_number(config))
    answer: list[bytes] = []

    async def bare(request: Request) -> Response:
        await request.body()
        if not answer:
            dispatcher = request.app.state.dispatcher
            answer.append(await dispatcher.handle(LICENSE_CALL, Caller(Credentials()), "bare"))
        return Response(answer[0], media_type="application/json")

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
