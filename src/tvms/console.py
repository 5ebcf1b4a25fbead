"""The operations console: the built `web/` app, served at `/` by the same process.

`vite build` writes into `console_dist/` beside this module (so a wheel carries it). Hashed files
under `assets/` never change, so browsers keep them a year; `index.html` is revalidated every
time; any other path the API does not own is a client-side route and gets `index.html`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

DIST = Path(__file__).resolve().parent / "console_dist"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
NOT_BUILT = (
    "The TVMS console is not built: run `make setup` with Node.js installed, "
    "or `cd web && npm ci && npm run build`.\n"
)
# First path segments owned by the API: never answered with the console's index.html.
RESERVED = frozenset(
    {"rpc", "trpc", "storage", "metrics", "healthz", "readyz", "openrpc.json", "api", "assets"}
)


def console_routes(dist: Path | None = None) -> list[BaseRoute]:
    """One catch-all GET route (files from `dist`, default `DIST`); put it after every other route."""
    root = (DIST if dist is None else dist).resolve()

    async def serve(request: Request) -> Response:
        path = request.path_params["path"]
        index = root / "index.html"
        if not index.is_file():
            if path == "":
                return PlainTextResponse(NOT_BUILT)
            return PlainTextResponse("Not Found\n", status_code=404)
        if path:
            target = (root / path).resolve()
            if target.is_relative_to(root) and target.is_file():
                immutable = target.is_relative_to(root / "assets")
                return FileResponse(target, headers={"Cache-Control": IMMUTABLE if immutable else NO_CACHE})
            if path.split("/", 1)[0] in RESERVED:
                return PlainTextResponse("Not Found\n", status_code=404)
        return FileResponse(index, headers={"Cache-Control": NO_CACHE})

    return [Route("/{path:path}", serve, methods=["GET", "HEAD"])]
