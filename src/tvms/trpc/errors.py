"""Errors in tRPC's shape: `{"message", "code", "data": {"code", "httpStatus", "path"}}`.

Our code table already follows tRPC's numbering; the two JSON-RPC codes tRPC never emits
are answered under the names a tRPC server would use for the same failure: invalid params
(input validation) is BAD_REQUEST, an unknown procedure is NOT_FOUND.
"""

from __future__ import annotations

from typing import Any

from tvms.rpc.errors import ErrorCode, RpcError

_AS_TRPC = {
    ErrorCode.INVALID_PARAMS: ErrorCode.BAD_REQUEST,
    ErrorCode.METHOD_NOT_FOUND: ErrorCode.NOT_FOUND,
}
_STANDARD_KEYS = frozenset({"code", "httpStatus", "path"})


def trpc_code(code: ErrorCode) -> ErrorCode:
    """The entry of our table a tRPC server reports for `code`."""
    return _AS_TRPC.get(code, code)


def http_status(error: RpcError) -> int:
    return trpc_code(error.code).http_status


def error_shape(error: RpcError, *, path: str | None, request_id: str) -> dict[str, Any]:
    """tRPC's default error shape; `data` also carries `requestId` and, for validation, `issues`."""
    code = trpc_code(error.code)
    data: dict[str, Any] = {"code": code.name, "httpStatus": code.http_status}
    if path is not None:
        data["path"] = path
    data["requestId"] = request_id
    for key, value in error.data.items():
        if key not in _STANDARD_KEYS:
            data[key] = value
    return {"message": error.message, "code": code.rpc_code, "data": data}
