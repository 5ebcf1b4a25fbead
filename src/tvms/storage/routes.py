"""The HTTP side of the local backend's signed URLs: GET (and HEAD) downloads, PUT uploads.

`storage_routes()` is handed to `Api(routes=...)`. The routes find the storage in the app's
services, so the same URL-signing key signs (in procedures) and verifies (here). When the app
runs on S3 the routes answer 404: S3 serves its own signed URLs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tvms.storage.base import (
    ChecksumMismatch,
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    ObjectTooLarge,
    StorageError,
    content_disposition,
    content_type_of,
)
from tvms.storage.local import ROUTE_PREFIX, LocalStorage, SignatureRefused

_SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=_SAFE_HEADERS)


def _storage(request: Request) -> LocalStorage | None:
    services = getattr(request.app.state, "services", None)
    storage = getattr(services, "storage", None)
    return storage if isinstance(storage, LocalStorage) else None


async def _object(request: Request) -> Response:
    storage = _storage(request)
    if storage is None:
        return _text(404, "Not found")
    key = request.path_params["key"]
    query = request.query_params
    try:
        if request.method in ("GET", "HEAD"):
            filename = query.get("filename")
            storage.verify(
                "GET", key, query.get("expires", ""), query.get("signature", ""), filename=filename
            )
            path = storage.open_path(key)
            headers = dict(_SAFE_HEADERS)
            if filename is not None:  # signed, and safe by construction (download_name)
                headers["Content-Disposition"] = content_disposition(filename)
            return FileResponse(path, media_type=content_type_of(key), headers=headers)
        size, sha256 = query.get("size", ""), query.get("sha256", "")
        storage.verify("PUT", key, query.get("expires", ""), query.get("signature", ""), size, sha256)
        sent_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if sent_type != content_type_of(key):
            return _text(403, "Content-Type does not match the signed upload")
        length = request.headers.get("content-length")
        if length is not None and length != size:
            return _text(
                413 if length.isdigit() and int(length) > int(size) else 400,
                "Content-Length does not match the signed upload",
            )
        await storage.write_stream(key, request.stream(), int(size), sha256 or None)
        return Response(status_code=200, headers=_SAFE_HEADERS)
    except SignatureRefused as exc:
        return _text(403, str(exc))
    except InvalidKey as exc:
        return _text(400, str(exc))
    except ObjectNotFound:
        return _text(404, "No such object")
    except ObjectTooLarge as exc:
        return _text(413, str(exc))
    except ObjectExists as exc:  # a signed upload never replaces (verified evidence stays put)
        return _text(409, str(exc))
    except ChecksumMismatch as exc:
        return _text(400, str(exc))
    except StorageError as exc:
        return _text(400, str(exc))


def storage_routes() -> list[BaseRoute]:
    """Routes serving the local backend's signed download and upload URLs."""
    return [Route(ROUTE_PREFIX + "{key:path}", _object, methods=["GET", "HEAD", "PUT"])]
