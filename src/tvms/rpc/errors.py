"""The one error type of the service and its closed code table.

Codes follow tRPC's own JSON-RPC numbering so that tRPC clients and ours agree; the two
JSON-RPC codes tRPC never emits (-32601, -32602) are added under the spec's own names.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.Enum):
    """name → (JSON-RPC code, HTTP status)."""

    PARSE_ERROR = (-32700, 400)
    BAD_REQUEST = (-32600, 400)
    METHOD_NOT_FOUND = (-32601, 404)
    INVALID_PARAMS = (-32602, 400)
    INTERNAL_SERVER_ERROR = (-32603, 500)
    UNAUTHORIZED = (-32001, 401)
    FORBIDDEN = (-32003, 403)
    NOT_FOUND = (-32004, 404)
    METHOD_NOT_SUPPORTED = (-32005, 405)
    TIMEOUT = (-32008, 408)
    CONFLICT = (-32009, 409)
    PRECONDITION_FAILED = (-32012, 412)
    PAYLOAD_TOO_LARGE = (-32013, 413)
    UNSUPPORTED_MEDIA_TYPE = (-32015, 415)
    UNPROCESSABLE_CONTENT = (-32022, 422)
    TOO_MANY_REQUESTS = (-32029, 429)

    @property
    def rpc_code(self) -> int:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


class RpcError(Exception):
    """Raised by procedures (and the core) to answer with an error.

    `message` goes to the client as is: never put exception text or secrets in it.
    `data` is merged into `error.data` next to the standard keys.
    """

    def __init__(self, code: ErrorCode, message: str, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __repr__(self) -> str:
        return f"RpcError({self.code.name}, {self.message!r})"


def invalid_params(path: str, message: str) -> RpcError:
    """A validation error for one field, shaped like the ones msgspec produces."""
    return RpcError(
        ErrorCode.INVALID_PARAMS,
        f"{message} - at `{path}`",
        issues=[{"path": path, "message": message}],
    )
