"""The JSON-RPC 2.0 response schema, written as code (no jsonschema dependency at run time).

`response_problems` returns what is wrong with one decoded response body (a response object
or a batch of them); an empty list means it conforms. The rules are the spec's section 5:
`jsonrpc` is exactly "2.0"; exactly one of `result` and `error`; `id` is present and is a
string, a number or null; an error has an integer `code`, a string `message` and may have
`data`; a batch response is a non-empty array of response objects.
"""

from __future__ import annotations

from typing import Any

_RESPONSE_KEYS = frozenset({"jsonrpc", "result", "error", "id"})
_ERROR_KEYS = frozenset({"code", "message", "data"})
_DATA_KEYS = ("code", "httpStatus", "path", "requestId")


def _is_number(value: Any) -> bool:
    # bool is an int in Python but not a number in JSON.
    return isinstance(value, int | float) and not isinstance(value, bool)


def object_problems(value: Any, where: str = "$") -> list[str]:
    """Problems of one response object (not a batch)."""
    if not isinstance(value, dict):
        return [f"{where}: a response must be an object, got {type(value).__name__}"]
    problems: list[str] = []
    extra = sorted(set(value) - _RESPONSE_KEYS)
    if extra:
        problems.append(f"{where}: unexpected members {extra}")
    if value.get("jsonrpc") != "2.0":
        problems.append(f'{where}.jsonrpc: must be exactly "2.0", got {value.get("jsonrpc")!r}')
    if "id" not in value:
        problems.append(f"{where}.id: missing (it must be present, null when unknown)")
    elif not (value["id"] is None or isinstance(value["id"], str) or _is_number(value["id"])):
        problems.append(f"{where}.id: must be a string, a number or null, got {value['id']!r}")
    has_result, has_error = "result" in value, "error" in value
    if has_result == has_error:
        problems.append(f"{where}: must hold exactly one of `result` and `error`")
    if has_error:
        problems.extend(_error_problems(value["error"], f"{where}.error"))
    return problems


def _error_problems(error: Any, where: str) -> list[str]:
    if not isinstance(error, dict):
        return [f"{where}: must be an object"]
    problems: list[str] = []
    extra = sorted(set(error) - _ERROR_KEYS)
    if extra:
        problems.append(f"{where}: unexpected members {extra}")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        problems.append(f"{where}.code: must be an integer, got {code!r}")
    if not isinstance(error.get("message"), str):
        problems.append(f"{where}.message: must be a string, got {error.get('message')!r}")
    return problems


def response_problems(body: Any) -> list[str]:
    """Problems of a decoded response body: one response object or a batch of them."""
    if isinstance(body, list):
        if not body:
            return ["$: a batch response must not be an empty array"]
        problems: list[str] = []
        for index, item in enumerate(body):
            problems.extend(object_problems(item, f"$[{index}]"))
        return problems
    return object_problems(body)


def data_problems(response: dict[str, Any], request_id: str | None) -> list[str]:
    """The service's own contract for errors: `error.data = {code, httpStatus, path, requestId}`."""
    error = response.get("error")
    if not isinstance(error, dict):
        return []
    data = error.get("data")
    if not isinstance(data, dict):
        return ["error.data: must be an object"]
    problems = [f"error.data.{key}: missing" for key in _DATA_KEYS if key not in data]
    if not isinstance(data.get("code"), str):
        problems.append("error.data.code: must be the error's name")
    status = data.get("httpStatus")
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        problems.append(f"error.data.httpStatus: must be an HTTP error status, got {status!r}")
    if request_id is not None and data.get("requestId") != request_id:
        problems.append(
            f"error.data.requestId: {data.get('requestId')!r} is not the X-Request-Id {request_id!r}"
        )
    return problems
