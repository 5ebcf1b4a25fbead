"""`/trpc/{path}`: the tRPC HTTP wire format over the same registry and dispatcher as `/rpc`.

Follows `resolveResponse` of @trpc/server 11 (checked against 11.25.2's source):
- `GET /trpc/a.b?input=…` runs a query, `POST /trpc/a.b` (JSON body) a mutation; a query by
  POST or a mutation by GET fails with METHOD_NOT_SUPPORTED (405, `Allow` names the method).
- `?batch=1` with comma-separated paths runs a batch; its input is `{"0": …, "1": …}`. A
  batch answers an array, HTTP 207 when the calls' statuses differ.
- Failures before any call can run (batch too large, queries mixed with mutations, body too
  large, wrong content type, timeout) answer ONE error object, even for a batch, as tRPC does.
- Unreadable input (bad JSON, a broken superjson envelope) fails every call of the request.
Calls run one after the other, in order, like a `/rpc` batch (tRPC runs them concurrently;
in-order is what our batches promise and keeps one database connection per request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tvms.rpc.context import Caller
from tvms.rpc.deadline import within
from tvms.rpc.dispatch import Dispatcher
from tvms.rpc.errors import ErrorCode, RpcError
from tvms.rpc.guard import BodyBudget, BodyRefused, BodyTimeout
from tvms.rpc.http import RETRY_AFTER_S, BodyTooLarge, credentials_of, query_of, read_body, send_json
from tvms.rpc.request_id import request_id_of
from tvms.rpc.router import Procedure
from tvms.trpc.errors import error_shape, http_status
from tvms.trpc.superjson import UNDEFINED, EnvelopeError
from tvms.trpc.transformers import TRANSFORMERS, Transformer, TransformerName

DispatcherGetter = Callable[[], Dispatcher | None]
"""Returns the running app's dispatcher (None before the lifespan has started)."""

_encode = msgspec.json.Encoder().encode
_MAX_ECHOED_PATH = 200
_ACCEPTED_METHOD = {"query": "GET", "mutation": "POST"}
_BODY_REFUSALS = (ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.TIMEOUT, ErrorCode.TOO_MANY_REQUESTS)
_RESULT_OPENING, _RESULT_CLOSING = b'{"result":{"data":', b"}}"
_SUPERJSON_OPENING, _SUPERJSON_CLOSING = b'{"json":', b"}"


class _Status:
    """A result's HTTP status (from the procedure's `get_status`) and its encoding, made inside
    the dispatcher's error boundary."""

    __slots__ = ("encode", "status_of")

    def __init__(self, encode: Callable[[Any], bytes], status_of: Callable[[Any], int]) -> None:
        self.encode = encode
        self.status_of = status_of

    def __call__(self, result: Any) -> tuple[int, bytes]:
        return self.status_of(result), self.encode(result)


class _Outcome:
    """One call's answer: its HTTP status, its encoded response object and, for a 405, `Allow`."""

    __slots__ = ("allow", "body", "status")

    def __init__(self, status: int, body: bytes, allow: bytes | None = None) -> None:
        self.status = status
        self.body = body
        self.allow = allow


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _media_type(scope: Scope) -> str | None:
    value = _header(scope, b"content-type")
    return None if value is None else value.split(";", 1)[0].strip().lower()


class TrpcEndpoint:
    """ASGI app for `/trpc/{path}`."""

    def __init__(
        self,
        dispatcher: DispatcherGetter,
        *,
        max_body: int,
        timeout: float | None,
        budget: BodyBudget,
        body_timeout: float,
        transformer: TransformerName = "superjson",
    ) -> None:
        self._dispatcher = dispatcher
        self.max_body = max_body
        self.timeout = timeout
        self.budget = budget
        self.body_timeout = body_timeout
        self.transformer: Transformer = TRANSFORMERS[transformer]
        self._encoders: dict[str, tuple[Callable[[Any], bytes], bytes, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dispatcher = self._dispatcher()
        if dispatcher is None:
            raise RuntimeError("the application was not started (its lifespan did not run)")
        method: str = scope["method"]
        if method == "HEAD":  # tRPC answers HEAD (used to warm up) with an empty 204
            await send_json(send, 204, b"")
            return
        request_id = request_id_of(scope)
        path: str = scope.get("path_params", {}).get("path", "")
        try:
            query = query_of(scope)
        except UnicodeDecodeError:
            await self._fail(send, RpcError(ErrorCode.BAD_REQUEST, "Invalid URL encoding"), request_id)
            return
        batch = query.get("batch", [""])[0] == "1"
        names = path.split(",") if batch else [path]
        procedures = [dispatcher.registry.get(name) for name in names]
        try:
            self._check(scope, method, batch, names, procedures, dispatcher.max_batch)
            raw = await self._raw_input(scope, receive, method, query)
        except ConnectionResetError:
            return  # the client left mid-body: nobody to answer, and not a server error
        except RpcError as exc:
            # After a body that was not read whole, the connection cannot carry another request.
            close = exc.code in _BODY_REFUSALS
            retry = RETRY_AFTER_S if exc.code is ErrorCode.TOO_MANY_REQUESTS else None
            await self._fail(send, exc, request_id, close=close, retry_after=retry)
            return
        inputs = self._inputs(raw, batch, len(names))
        caller = Caller(credentials_of(scope))
        deadline = None if self.timeout is None else asyncio.get_running_loop().time() + self.timeout
        try:
            outcomes = await within(
                self._calls(dispatcher, method, names, procedures, inputs, caller, request_id), deadline
            )
        except TimeoutError:
            error = RpcError(ErrorCode.TIMEOUT, f"Request timed out after {self.timeout} s")
            await self._fail(send, error, request_id)
            return
        finally:
            dispatcher.finish(caller, request_id)
        statuses = {outcome.status for outcome in outcomes}
        status = statuses.pop() if len(statuses) == 1 else 207
        # Only a 405 carries `Allow`, so an all-200 answer has none to look for.
        allow = (
            None
            if status == 200
            else next((o.allow for o in reversed(outcomes) if o.allow is not None), None)
        )
        body = b"[" + b",".join(o.body for o in outcomes) + b"]" if batch else outcomes[0].body
        await send_json(send, status, body, allow=allow)

    async def _calls(
        self,
        dispatcher: Dispatcher,
        method: str,
        names: Sequence[str],
        procedures: Sequence[Procedure | None],
        inputs: list[Any] | RpcError,
        caller: Caller,
        request_id: str,
    ) -> list[_Outcome]:
        """The request's calls, one after the other, in order (each call's steps inline: they run
        for every call of a batch)."""
        outcomes: list[_Outcome] = []
        for index, (name, procedure) in enumerate(zip(names, procedures, strict=True)):
            value = inputs if isinstance(inputs, RpcError) else inputs[index]
            allow = None
            try:
                if procedure is None:
                    dispatcher.note_unknown(caller)
                    raise RpcError(
                        ErrorCode.NOT_FOUND, f'No procedure found on path "{name[:_MAX_ECHOED_PATH]}"'
                    )
                accepted = _ACCEPTED_METHOD[procedure.kind]
                if method != accepted:
                    allow = accepted.encode()
                    raise RpcError(
                        ErrorCode.METHOD_NOT_SUPPORTED,
                        f"Unsupported {method}-request to {procedure.kind} procedure"
                        f' at path "{name[:_MAX_ECHOED_PATH]}"',
                    )
                if isinstance(value, RpcError):
                    raise value
                encode, opening, closing = self._encoders.get(procedure.name) or self._encoder(procedure)
                params = _params(value)
                status_of = procedure.get_status  # e.g. health: 503 while the replica cannot serve
                if status_of is None:
                    data = await dispatcher.call(procedure, name, params, caller, request_id, convert=encode)
                    status = 200
                else:
                    answer = await dispatcher.call(
                        procedure, name, params, caller, request_id, convert=_Status(encode, status_of)
                    )
                    status, data = answer
            except RpcError as exc:
                shape = error_shape(exc, path=name[:_MAX_ECHOED_PATH], request_id=request_id)
                body = b'{"error":' + self.transformer.wrap(_encode(shape)) + b"}"
                outcomes.append(_Outcome(http_status(exc), body, allow))
            else:
                outcomes.append(_Outcome(status, opening + data + closing))
        return outcomes

    # ----- the request as a whole -----------------------------------------------------------

    def _check(
        self,
        scope: Scope,
        method: str,
        batch: bool,
        names: Sequence[str],
        procedures: Sequence[Procedure | None],
        max_batch: int,
    ) -> None:
        """The failures that stop the whole request before any call runs."""
        if method != "GET" and _media_type(scope) != "application/json":
            given = _media_type(scope)
            raise RpcError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "Missing content-type header"
                if given is None
                else f'Unsupported content-type "{given[:_MAX_ECHOED_PATH]}": send application/json',
            )
        if batch and len(names) > max_batch:
            raise RpcError(
                ErrorCode.BAD_REQUEST,
                f"Batch call exceeds maximum size: at most {max_batch} calls, got {len(names)}",
            )
        kinds = sorted({procedure.kind for procedure in procedures if procedure is not None})
        if len(kinds) > 1:
            raise RpcError(ErrorCode.BAD_REQUEST, f"Cannot mix procedure types in call: {', '.join(kinds)}")

    async def _raw_input(
        self, scope: Scope, receive: Receive, method: str, query: dict[str, list[str]]
    ) -> bytes | None:
        """The undecoded input: `?input=` for GET, the body otherwise (None when absent)."""
        if method == "GET":
            values = query.get("input")
            return values[0].encode() if values and values[0] else None
        declared = _header(scope, b"content-length")
        try:
            if declared is not None and int(declared) > self.max_body:
                raise BodyTooLarge
            body = await read_body(receive, self.max_body, self.budget)
        except BodyTimeout:
            raise RpcError(
                ErrorCode.TIMEOUT, f"Request body not received within {self.body_timeout} s"
            ) from None
        except BodyRefused:
            raise RpcError(
                ErrorCode.TOO_MANY_REQUESTS, "Too many request bodies in flight on this server; retry shortly"
            ) from None
        except BodyTooLarge:
            raise RpcError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"Request body exceeds the limit of {self.max_body} bytes",
            ) from None
        except ValueError:
            raise RpcError(ErrorCode.BAD_REQUEST, "Invalid Content-Length") from None
        # `httpLink` sends no body when the input is undefined
        return body if body.strip() else None

    def _inputs(self, raw: bytes | None, batch: bool, count: int) -> list[Any] | RpcError:
        """Each call's plain input (or UNDEFINED); one error for all when unreadable."""
        if raw is None:
            return [UNDEFINED] * count
        try:
            decoded = msgspec.json.decode(raw)
        except UnicodeDecodeError:  # msgspec's error for invalid UTF-8 inside a string
            return RpcError(ErrorCode.PARSE_ERROR, "Invalid input: not UTF-8")
        except (msgspec.DecodeError, RecursionError):
            return RpcError(ErrorCode.BAD_REQUEST, "Invalid input: not JSON")
        if batch:
            if not isinstance(decoded, dict):
                return RpcError(
                    ErrorCode.BAD_REQUEST, '"input" needs to be an object when doing a batch call'
                )
            items = [decoded.get(str(index), UNDEFINED) for index in range(count)]
        else:
            items = [decoded]
        try:
            return [item if item is UNDEFINED else self.transformer.decode_input(item) for item in items]
        except EnvelopeError as exc:
            return RpcError(ErrorCode.BAD_REQUEST, f"Invalid input: {exc}")
        except RecursionError:
            return RpcError(ErrorCode.BAD_REQUEST, "Invalid input: nested too deeply")

    # ----- one call -------------------------------------------------------------------------

    def _encoder(self, procedure: Procedure) -> tuple[Callable[[Any], bytes], bytes, bytes]:
        """`result_encoder` of a procedure's output type, chosen once per procedure."""
        chosen = self._encoders[procedure.name] = result_encoder(self.transformer, procedure.output_type)
        return chosen

    # ----- sending --------------------------------------------------------------------------

    async def _fail(
        self,
        send: Send,
        error: RpcError,
        request_id: str,
        *,
        close: bool = False,
        retry_after: int | None = None,
    ) -> None:
        shape = error_shape(error, path=None, request_id=request_id)
        body = b'{"error":' + self.transformer.wrap(_encode(shape)) + b"}"
        await send_json(send, http_status(error), body, close=close, retry_after=retry_after)


def _may_hold_dates(info: msgspec.inspect.Type, seen: set[int]) -> bool:
    """Whether a value of this type can hold a datetime (which superjson sends with metadata)."""
    inspect = msgspec.inspect
    if isinstance(info, inspect.DateTimeType | inspect.AnyType | inspect.CustomType):
        return True
    if isinstance(info, inspect.StructType | inspect.DataclassType | inspect.TypedDictType):
        if id(info.cls) in seen:
            return False
        seen.add(id(info.cls))
        return any(_may_hold_dates(field.type, seen) for field in info.fields)
    if isinstance(info, inspect.NamedTupleType):
        return any(_may_hold_dates(field.type, seen) for field in info.fields)
    if isinstance(info, inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType):
        return _may_hold_dates(info.item_type, seen)
    if isinstance(info, inspect.TupleType):
        return any(_may_hold_dates(item, seen) for item in info.item_types)
    if isinstance(info, inspect.DictType):
        return _may_hold_dates(info.key_type, seen) or _may_hold_dates(info.value_type, seen)
    if isinstance(info, inspect.UnionType):
        return any(_may_hold_dates(item, seen) for item in info.types)
    return False


def result_encoder(transformer: Transformer, output_type: Any) -> tuple[Callable[[Any], bytes], bytes, bytes]:
    """How a result of `output_type` is written: `opening + encode(value) + closing` gives
    `{"result":{"data":…}}`. With superjson, a type that cannot hold a datetime has no metadata,
    so its envelope `{"json": value}` joins the fixed bytes and the value is encoded in one step
    (what `encode_output` gives, without walking the value in Python)."""
    if transformer.name == "superjson" and not _may_hold_dates(msgspec.inspect.type_info(output_type), set()):
        return _encode, _RESULT_OPENING + _SUPERJSON_OPENING, _SUPERJSON_CLOSING + _RESULT_CLOSING
    return transformer.encode_output, _RESULT_OPENING, _RESULT_CLOSING


def _params(value: Any) -> bytes:
    """A plain input as the raw params `decode_input` takes (an object, or nothing)."""
    if value is UNDEFINED or value is None:
        return b""
    if not isinstance(value, dict):
        raise RpcError(
            ErrorCode.INVALID_PARAMS,
            "Invalid params: the input must be an object - at `$`",
            issues=[{"path": "$", "message": "Expected an object"}],
        )
    return _encode(value)


def trpc_routes(
    dispatcher: DispatcherGetter,
    *,
    max_body: int,
    timeout: float | None,
    budget: BodyBudget | None = None,
    body_timeout: float = 30.0,
    prefix: str = "/trpc",
    transformer: TransformerName = "superjson",
) -> list[Route]:
    """The routes serving the tRPC wire format under `prefix` (one route: `{prefix}/{path}`).

    `budget` is the app's bound on bytes held by unfinished bodies (shared with `/rpc`); without
    one these routes get their own, of one largest body.
    """
    endpoint = TrpcEndpoint(
        dispatcher,
        max_body=max_body,
        timeout=timeout,
        budget=budget or BodyBudget(max_body),
        body_timeout=body_timeout,
        transformer=transformer,
    )
    return [Route(f"{prefix}/{{path:path}}", endpoint, methods=None)]
