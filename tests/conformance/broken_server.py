"""A deliberately broken JSON-RPC server: wrong ids, answers notifications, no X-Request-Id.

Served by hypercorn in a subprocess to prove that `tvms conformance` notices.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DOCUMENT = {
    "openrpc": "1.3.2",
    "info": {"title": "broken", "version": "0"},
    "methods": [
        {
            "name": "system.getLicense",
            "paramStructure": "by-name",
            "params": [],
            "result": {"name": "result", "schema": {}},
            "examples": [
                {"name": "default", "params": [], "result": {"name": "result", "value": {"valid": True}}}
            ],
        }
    ],
}


def _wrong(request_object: Any) -> dict[str, Any]:
    id = request_object.get("id") if isinstance(request_object, dict) else None
    return {"jsonrpc": "2.0", "result": None, "id": id + 1 if isinstance(id, int) else "wrong"}


async def rpc(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if isinstance(body, list):
        return JSONResponse([_wrong(item) for item in body])
    return JSONResponse(_wrong(body))


async def openrpc(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/rpc", rpc, methods=["POST"]),
        Route("/openrpc.json", openrpc),
        Route("/healthz", healthz),
    ]
)
