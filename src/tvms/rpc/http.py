"""The HTTP face of the dispatcher: `POST /rpc` and `GET /rpc/{procedure}?input=…`.

A plain ASGI app (no per-request Request object) because it sits on every call's path. The
body is read in chunks and refused as soon as it passes the limit, never buffered whole.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from starlette.types import Message, Receive, Scope, Send

from tvms.rpc.context import Caller
from tvms.rpc.credentials import Credentials
from tvms.rpc.deadline import within
from tvms.rpc.dispatch import Dispatcher, error_body
from tvms.rpc.errors import ErrorCode
from tvms.rpc.guard import BodyBudget, BodyRefused, BodyTimeout
from tvms.rpc.request_id import request_id_of

_JSON = (b"content-type", b"application/json")
_ACCEPTED_TYPES = ("application/json", "application/json-rpc", "application/jsonrequest")


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def credentials_of(scope: Scope) -> Credentials:
    """The unverified credentials a request presents (Bearer token, device API key)."""
    bearer = api_key = user_agent = host = forwarded_host = forwarded_proto = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
        elif key == b"x-api-key":
            api_key = value.decode("latin-1").strip() or None
        elif key == b"user-agent":
            user_agent = value.decode("latin-1")
        elif key == b"host":
            host = value.decode("latin-1").strip()
        elif key == b"x-forwarded-host":
            forwarded_host = value.decode("latin-1").split(",", 1)[0].strip()
        elif key == b"x-forwarded-proto":
            forwarded_proto = value.decode("latin-1").split(",", 1)[0].strip().lower()
    client = scope.get("client")
    return Credentials(
        bearer=bearer,
        api_key=api_key,
        client=client[0] if client else None,
        user_agent=user_agent,
        scheme=scope.get("scheme", "http"),
        host=host,
        forwarded_host=forwarded_host,
        forwarded_proto=forwarded_proto,
    )


async def read_body(receive: Receive, limit: int, budget: BodyBudget) -> bytes:
    """The whole request body, or BodyTooLarge as soon as it passes `limit` bytes.

    The bytes read so far count against the process's `budget` until the body is complete
    (BodyRefused when it is spent). Under `HttpGuard`, `receive` raises BodyTimeout past the
    body deadline.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client disconnected")
            chunk = message.get("body", b"")
            if size + len(chunk) > limit:
                raise BodyTooLarge
            budget.take(len(chunk))
            size += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        budget.give(size)


def _content_type_ok(value: str | None) -> bool:
    if value is None:  # a cross-site form or `fetch` with no type must not pass as JSON
        return False
    media = value.split(";", 1)[0].strip().lower()
    return media in _ACCEPTED_TYPES or (media.startswith("application/") and media.endswith("+json"))


RETRY_AFTER_S = 1
"""What a client refused for want of body buffer space is told to wait (`Retry-After`)."""


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    *,
    allow: bytes | None = None,
    close: bool = False,
    retry_after: int | None = None,
) -> None:
    """One complete JSON response (no body nor length for 204, as HTTP requires)."""
    headers = [] if status == 204 else [_JSON, (b"content-length", str(len(body)).encode())]
    if allow is not None:
        headers.append((b"allow", allow))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if close:
        headers.append((b"connection", b"close"))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


def query_of(scope: Scope) -> dict[str, list[str]]:
    """The query string's parameters; UnicodeDecodeError when it is not valid percent-encoded UTF-8.

    What `parse_qs(query, keep_blank_values=True, errors="strict")` gives (tested), without its
    generic layers: every GET of `/trpc` parses one.
    """
    query: dict[str, list[str]] = {}
    for pair in scope.get("query_string", b"").decode("latin-1").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            name = unquote(name.replace("+", " "), errors="strict")
            query.setdefault(name, []).append(unquote(value.replace("+", " "), errors="strict"))
    return query


async def _wrong_method(send: Send, allowed: str, message: str, request_id: str) -> None:
    """405 with METHOD_NOT_SUPPORTED and the `Allow` header."""
    body = error_body(ErrorCode.METHOD_NOT_SUPPORTED, message, request_id=request_id)
    await send_json(send, 405, body, allow=allowed.encode())


class RpcEndpoint:
    """ASGI app for `/rpc` (POST) and `/rpc/{procedure}` (GET)."""

    def __init__(
        self,
        dispatcher: Dispatcher | None,
        *,
        max_body: int,
        timeout: float | None,
        budget: BodyBudget,
        body_timeout: float,
    ) -> None:
        self.dispatcher = dispatcher  # set by the app's lifespan, which opens the services
        self.max_body = max_body
        self.timeout = timeout
        self.budget = budget
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dispatcher = self.dispatcher
        if dispatcher is None:
            raise RuntimeError("the application was not started (its lifespan did not run)")
        request_id = request_id_of(scope)
        method = scope["method"]
        name = scope.get("path_params", {}).get("procedure")
        if name is not None:
            if method not in ("GET", "HEAD"):
                await _wrong_method(send, "GET", "Use GET for /rpc/{procedure}; POST to /rpc", request_id)
                return
            await self._get(dispatcher, scope, send, name, request_id)
            return
        if method != "POST":
            await _wrong_method(send, "POST", "POST JSON-RPC requests to /rpc", request_id)
            return
        await self._post(dispatcher, scope, receive, send, request_id)

    def _deadline(self) -> float | None:
        """When the request times out (the loop's clock), counted from now."""
        return None if self.timeout is None else asyncio.get_running_loop().time() + self.timeout

    async def _post(
        self, dispatcher: Dispatcher, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        if not _content_type_ok(_header(scope, b"content-type")):
            await send_json(
                send,
                200,
                error_body(
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Content-Type: send application/json",
                    request_id=request_id,
                ),
            )
            return
        declared = _header(scope, b"content-length")
        try:
            if declared is not None and int(declared) > self.max_body:
                raise BodyTooLarge
            body = await read_body(receive, self.max_body, self.budget)
        except ConnectionResetError:
            return  # the client left mid-body: nobody to answer, and not a server error
        except BodyTimeout:
            await send_json(
                send,
                408,
                error_body(
                    ErrorCode.TIMEOUT,
                    f"Request body not received within {self.body_timeout} s",
                    request_id=request_id,
                ),
                close=True,
            )
            return
        except BodyRefused:
            await send_json(
                send,
                429,
                error_body(
                    ErrorCode.TOO_MANY_REQUESTS,
                    "Too many request bodies in flight on this server; retry shortly",
                    request_id=request_id,
                ),
                close=True,
                retry_after=RETRY_AFTER_S,
            )
            return
        except BodyTooLarge:
            await send_json(
                send,
                200,
                error_body(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"Request body exceeds the limit of {self.max_body} bytes",
                    request_id=request_id,
                ),
                close=True,
            )
            return
        except ValueError:
            await send_json(
                send,
                400,
                error_body(ErrorCode.BAD_REQUEST, "Invalid Content-Length", request_id=request_id),
                close=True,
            )
            return
        caller = Caller(credentials_of(scope))
        try:
            response = await within(dispatcher.handle(body, caller, request_id), self._deadline())
        except TimeoutError:
            response = error_body(
                ErrorCode.TIMEOUT,
                f"Request timed out after {self.timeout} s",
                request_id=request_id,
            )
        if response is None:
            await send_json(send, 204, b"")
            return
        await send_json(send, 200, response)

    async def _get(
        self, dispatcher: Dispatcher, scope: Scope, send: Send, name: str, request_id: str
    ) -> None:
        try:
            query = query_of(scope)
        except UnicodeDecodeError:
            await send_json(
                send,
                400,
                error_body(
                    ErrorCode.PARSE_ERROR,
                    "Parse error: `input` is not UTF-8",
                    path=name,
                    request_id=request_id,
                ),
            )
            return
        values = query.get("input")
        raw = values[0].encode() if values else None
        caller = Caller(credentials_of(scope))
        try:
            status, response = await within(
                dispatcher.handle_get(name, raw, caller, request_id), self._deadline()
            )
        except TimeoutError:
            status, response = (
                408,
                error_body(
                    ErrorCode.TIMEOUT,
                    f"Request timed out after {self.timeout} s",
                    path=name,
                    request_id=request_id,
                ),
            )
        await send_json(send, status, response)
