"""`X-Request-Id` on every response: echoed when the client sent a sane one, else created."""

from __future__ import annotations

import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SCOPE_KEY = "tvms.request_id"
_MAX_LENGTH = 128


def _acceptable(value: bytes) -> bool:
    return 0 < len(value) <= _MAX_LENGTH and all(33 <= byte <= 126 for byte in value)


def _new_id() -> str:
    """16 hex digits. An id names a request in the logs, it guards nothing: the process's
    Mersenne Twister (seeded from the OS) makes it without a system call, unlike `secrets`."""
    return f"{random.getrandbits(64):016x}"


def request_id_of(scope: Scope) -> str:
    """The id the middleware chose for this request (or a new one outside the middleware)."""
    value = scope.get(_SCOPE_KEY)
    return value if value is not None else _new_id()


def assign_request_id(scope: Scope, given: bytes | None) -> bytes:
    """Choose the request's id (the client's `given` one when sane), note it in the scope and
    return it as the response header's value."""
    request_id = given.decode() if given is not None and _acceptable(given) else _new_id()
    scope[_SCOPE_KEY] = request_id
    return request_id.encode()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value
                break
        header = (b"x-request-id", assign_request_id(scope, given))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
