"""Hostile-input limits that hold whatever HTTP server runs the app.

- A request carrying both `Content-Length` and `Transfer-Encoding` is refused (400) and its
  connection closed: the two framings disagree, the classic request-smuggling set-up.
- A request body must arrive within `body_timeout` seconds of the request's headers: a client
  trickling a byte every few seconds is answered 408 and its connection closed.
- `BodyBudget` bounds the bytes held across the process by bodies still being read into memory,
  so many unfinished bodies cannot exhaust it; past the bound a body is refused, not buffered.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tvms.rpc.deadline import within
from tvms.rpc.dispatch import error_body
from tvms.rpc.errors import ErrorCode
from tvms.rpc.request_id import request_id_of


class BodyTimeout(Exception):
    """The request body did not arrive within the deadline (raised by `receive`)."""


class BodyRefused(Exception):
    """Reading this body would pass the process's bound on bytes held by unfinished bodies."""


class BodyBudget:
    """Bytes held by request bodies still being read, across the process (one event loop)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes as held, or BodyRefused (nothing counted) past the limit."""
        if self.held + size > self.limit:
            raise BodyRefused
        self.held += size

    def give(self, size: int) -> None:
        self.held -= size


async def _answer(send: Send, status: int, code: ErrorCode, message: str, request_id: str) -> None:
    body = error_body(code, message, request_id=request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HttpGuard:
    """ASGI middleware: the framing check and the body deadline, for every route."""

    def __init__(self, app: ASGIApp, *, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = encoding = False
        for key, _ in scope["headers"]:
            if key == b"content-length":
                length = True
            elif key == b"transfer-encoding":
                encoding = True
        if length and encoding:
            await _answer(
                send,
                400,
                ErrorCode.BAD_REQUEST,
                "Bad Request: Content-Length and Transfer-Encoding together",
                request_id_of(scope),
            )
            return
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_done = False
        started = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # after the body only a disconnect can come: no deadline on that
                return await receive()
            try:  # the timer is armed only if the body is not already there
                message = await within(receive(), deadline)
            except TimeoutError:
                raise BodyTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_tracked)
        except BodyTimeout:
            if started:
                raise
            await _answer(
                send,
                408,
                ErrorCode.TIMEOUT,
                f"Request body not received within {self.body_timeout} s",
                request_id_of(scope),
            )
