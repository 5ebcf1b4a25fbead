"""Starlette's ceiling for `make bench`: one Starlette route answering fixed bytes, on the same
server `tvms serve` uses (uvicorn, httptools, uvloop). `python bench/bare_starlette.py PORT BODY`."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = sys.argv[2].encode()


async def bare(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/bare", bare, methods=["GET", "POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
