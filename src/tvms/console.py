"""The operations console: the built `web/` app, served at `/` by the same process.

`vite build` writes into `console_dist/` beside this module (so a wheel carries it). Hashed files
under `assets/` never change, so browsers keep them a year; `index.html` is revalidated every
time; any other GET the API does not answer is a client-side route and gets `index.html`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

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


def console_fallback(otherwise: ASGIApp, dist: Path | None = None) -> ASGIApp:
    """The router's default app: runs only when no route matched, so it never shadows one, not
    even a route added later. GET and HEAD get the console's files; anything else `otherwise`."""
    root = (DIST if dist is None else dist).resolve()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await otherwise(scope, receive, send)
            return
        await _answer(root, scope["path"].lstrip("/"))(scope, receive, send)

    return app


def _answer(root: Path, path: str) -> Response:
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
