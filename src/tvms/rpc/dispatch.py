"""The JSON-RPC 2.0 envelope: parse, validate, batch, authorise, dispatch, encode.

Built on msgspec: the envelope is decoded with `params` kept raw, then the params with the
procedure's own decoder (built once at registration). Responses are assembled from encoded
pieces. Every item of a batch runs in order, to completion, and succeeds or fails alone.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tvms.logs import AccessLog
from tvms.rpc.context import Caller, Context, Services
from tvms.rpc.errors import ErrorCode, RpcError
from tvms.rpc.messages import humanize
from tvms.rpc.metrics import Metrics
from tvms.rpc.nul import has_raw, may_hold_nul, refuse_nul
from tvms.rpc.router import Procedure

log = logging.getLogger("tvms.rpc")

Next = Callable[[Context], Awaitable[Any]]
Middleware = Callable[[Context, Next], Awaitable[Any]]
"""A per-call wrapper: `async def mw(ctx, call_next): ... return await call_next(ctx)`."""

Id = int | float | str | None


class Request(msgspec.Struct, forbid_unknown_fields=True):
    """A well-formed request object. Anything else is answered with -32600."""

    jsonrpc: Literal["2.0"]
    method: str
    params: msgspec.Raw = msgspec.Raw()
    id: Id | UnsetType = UNSET


_request_decoder = msgspec.json.Decoder(Request)
_batch_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_encoder = msgspec.json.Encoder()
_encode = _encoder.encode
_OPEN_BRACE = ord("{")
_OPEN_BRACKET = ord("[")
_WHITESPACE = b" \t\r\n"
_MAX_ECHOED_NAME = 200
_UNKNOWN = "<unknown>"


def _response(result: bytes, id: Id) -> bytes:
    return b'{"jsonrpc":"2.0","result":' + result + b',"id":' + _encode(id) + b"}"


def error_body(
    code: ErrorCode,
    message: str,
    *,
    id: Id = None,
    path: str | None = None,
    request_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """An encoded JSON-RPC error response with the service's standard `error.data`."""
    data: dict[str, Any] = {
        "code": code.name,
        "httpStatus": code.http_status,
        "path": path,
        "requestId": request_id,
    }
    if extra:
        data.update(extra)
    error = {"code": code.rpc_code, "message": message, "data": data}
    return _encode({"jsonrpc": "2.0", "error": error, "id": id})


def _validation_error(exc: msgspec.ValidationError) -> RpcError:
    message, sep, where = str(exc).rpartition(" - at `")
    if not sep:
        message, where = str(exc), "$`"
    path = where[:-1]
    message = humanize(message)
    return RpcError(
        ErrorCode.INVALID_PARAMS,
        f"Invalid params: {message} - at `{path}`",
        issues=[{"path": path, "message": message}],
    )


def decode_input(procedure: Procedure, params: bytes | memoryview | msgspec.Raw) -> Any:
    """The procedure's typed input from raw params: an object, `[object]`, `[]` or nothing."""
    if not len(params) and procedure.decoder is None:  # the common no-input call, kept cheap
        return None
    view = memoryview(params)
    if len(view) and view[0] == _OPEN_BRACKET:
        items = _batch_decoder.decode(view)
        if len(items) > 1:
            raise RpcError(
                ErrorCode.INVALID_PARAMS,
                "Invalid params: pass the input as an object or a one-element array",
                issues=[{"path": "$", "message": "Expected at most one positional parameter"}],
            )
        view = memoryview(items[0]) if items else memoryview(b"")
    if procedure.decoder is None:
        if len(view) and bytes(view).strip() != b"{}":
            raise RpcError(
                ErrorCode.INVALID_PARAMS,
                f"Invalid params: {procedure.name} takes no input",
                issues=[{"path": "$", "message": "This procedure takes no input"}],
            )
        return None
    nul = may_hold_nul(view)
    raw_parts = nul and procedure.input_type is not None and has_raw(procedure.input_type)
    if nul and not raw_parts:  # before the typed decoding, so that no other field hides it
        with contextlib.suppress(msgspec.DecodeError, RecursionError):  # not JSON: said below
            refuse_nul(msgspec.json.decode(view))
    try:
        decoded = procedure.decoder.decode(view if len(view) else b"{}")
    except msgspec.ValidationError as exc:
        raise _validation_error(exc) from None
    if raw_parts:
        refuse_nul(decoded)
    return decoded


class Dispatcher:
    """Turns request bytes into response bytes over one registry of procedures."""

    def __init__(
        self,
        registry: dict[str, Procedure],
        services: Services,
        *,
        middleware: Sequence[Middleware] = (),
        mutation_middleware: Sequence[Middleware] = (),
        max_batch: int = 100,
        discover: Callable[[Caller], bytes] | None = None,
        metrics: Metrics | None = None,
        access_log: AccessLog | None = None,
        validate_output: bool = False,
    ) -> None:
        self.registry = registry
        self.services = services
        self.max_batch = max_batch
        self.metrics = metrics if metrics is not None else Metrics()
        self.access_log = access_log if access_log is not None else AccessLog()
        self.validate_output = validate_output
        self._discover = discover
        # Queries skip the mutation-only wrappers (the audit log) entirely: no cost per read.
        self._query_chain = _compose(middleware, _invoke)
        self._mutation_chain = _compose([*middleware, *mutation_middleware], _invoke)

    # ----- entry points ---------------------------------------------------------------------

    async def handle(self, body: bytes, caller: Caller, request_id: str) -> bytes | None:
        """A POST body → the response body, or None when nothing is to be answered."""
        try:
            return await self._handle(body, caller, request_id)
        finally:
            self.finish(caller, request_id)

    async def _handle(self, body: bytes, caller: Caller, request_id: str) -> bytes | None:
        # msgspec checks UTF-8 only in strings it decodes (raising UnicodeDecodeError, not
        # DecodeError) and not in skipped ones (params), so check it once here.
        if not body.isascii():
            try:
                body.decode()
            except UnicodeDecodeError:
                return error_body(
                    ErrorCode.PARSE_ERROR, "Parse error: the body is not UTF-8", request_id=request_id
                )
        start = body.lstrip(_WHITESPACE)[:1]
        if start != b"[":
            return await self._handle_one(body, caller, request_id)
        try:
            items = _batch_decoder.decode(body)
        except msgspec.DecodeError:
            return error_body(ErrorCode.PARSE_ERROR, "Parse error", request_id=request_id)
        except RecursionError:
            return error_body(
                ErrorCode.PARSE_ERROR, "Parse error: JSON nested too deeply", request_id=request_id
            )
        if not items:
            return error_body(ErrorCode.BAD_REQUEST, "Invalid Request: empty batch", request_id=request_id)
        if len(items) > self.max_batch:
            return error_body(
                ErrorCode.BAD_REQUEST,
                f"Invalid Request: a batch may hold at most {self.max_batch} requests, got {len(items)}",
                request_id=request_id,
            )
        responses = []
        for item in items:
            response = await self._handle_one(item, caller, request_id)
            if response is not None:
                responses.append(response)
        if not responses:
            return None
        return b"[" + b",".join(responses) + b"]"

    async def handle_get(
        self, name: str, input: bytes | None, caller: Caller, request_id: str
    ) -> tuple[int, bytes]:
        """`GET /rpc/{name}?input=…`: queries only. Returns (HTTP status, response body)."""
        procedure = self.registry.get(name)
        if procedure is None or not procedure.is_query:
            code = ErrorCode.METHOD_NOT_FOUND if procedure is None else ErrorCode.METHOD_NOT_SUPPORTED
            message = "Method not found" if procedure is None else "Mutations must be sent by POST"
            return code.http_status, error_body(
                code, message, path=name[:_MAX_ECHOED_NAME], request_id=request_id
            )
        if input is not None:
            try:
                params = msgspec.json.decode(input, type=msgspec.Raw)
            except (msgspec.DecodeError, RecursionError):
                code = ErrorCode.PARSE_ERROR
                return code.http_status, error_body(
                    code, "Parse error: `input` is not JSON", path=name, request_id=request_id
                )
            if memoryview(params)[0] != _OPEN_BRACE:
                code = ErrorCode.INVALID_PARAMS
                return code.http_status, error_body(
                    code,
                    "Invalid params: `input` must be a JSON object",
                    path=name,
                    request_id=request_id,
                )
        else:
            params = msgspec.Raw()
        try:
            if procedure.get_status is None:
                body, code_or_none = await self._call(procedure, name, params, None, caller, request_id)
                status = 200 if code_or_none is None else code_or_none.http_status
                return status, body
            try:
                value = await self.call(procedure, name, params, caller, request_id)
            except RpcError as exc:
                body = error_body(exc.code, exc.message, path=name, request_id=request_id, extra=exc.data)
                return exc.code.http_status, body
            return procedure.get_status(value), _response(_encode(value), None)
        finally:
            self.finish(caller, request_id)

    def note_unknown(self, caller: Caller) -> None:
        """Count a call of a procedure that does not exist (under one label for all names)."""
        caller.finished.append((_UNKNOWN, "-", ErrorCode.METHOD_NOT_FOUND.name, 0.0, None))

    def finish(self, caller: Caller, request_id: str) -> None:
        """Metrics and the access log of the calls one HTTP request ran, in one go each.

        The access log has one line per request: the call's own line, or for several calls a
        summary (how many, per procedure and per outcome, total time).
        """
        calls = caller.finished
        if not calls:
            return
        caller.finished = []
        self.metrics.record([(name, outcome, seconds) for name, _, outcome, seconds, _ in calls])
        if self.access_log.enabled():
            self.access_log.request(request_id, calls)

    # ----- one request object ---------------------------------------------------------------

    async def _handle_one(self, raw: bytes | msgspec.Raw, caller: Caller, request_id: str) -> bytes | None:
        try:
            request = _request_decoder.decode(raw)
        except msgspec.ValidationError:
            return self._invalid(raw, request_id)
        except msgspec.DecodeError:
            return error_body(ErrorCode.PARSE_ERROR, "Parse error", request_id=request_id)
        except RecursionError:
            return error_body(
                ErrorCode.PARSE_ERROR, "Parse error: JSON nested too deeply", request_id=request_id
            )
        params = request.params
        if len(params) and memoryview(params)[0] not in (_OPEN_BRACE, _OPEN_BRACKET):
            return error_body(
                ErrorCode.BAD_REQUEST,
                "Invalid Request: params must be an object or an array",
                request_id=request_id,
            )
        notification = request.id is UNSET
        id = None if request.id is UNSET else request.id
        name = request.method
        procedure = self.registry.get(name)
        if procedure is None:
            if name == "rpc.discover" and self._discover is not None:
                return None if notification else _response(self._discover(caller), id)
            self.note_unknown(caller)
            if notification:
                return None
            return error_body(
                ErrorCode.METHOD_NOT_FOUND,
                "Method not found",
                id=id,
                path=name[:_MAX_ECHOED_NAME],
                request_id=request_id,
            )
        try:  # what `_call` does, inline: this runs for every call of a batch
            result: bytes = await self.call(procedure, name, params, caller, request_id, convert=_encode)
        except RpcError as exc:
            body = error_body(exc.code, exc.message, id=id, path=name, request_id=request_id, extra=exc.data)
        else:
            body = b'{"jsonrpc":"2.0","result":' + result + b',"id":' + _encode(id) + b"}"
        return None if notification else body

    def _invalid(self, raw: bytes | msgspec.Raw, request_id: str) -> bytes:
        """Tell malformed JSON (-32700) from a malformed request (-32600)."""
        try:
            msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return error_body(ErrorCode.PARSE_ERROR, "Parse error", request_id=request_id)
        except RecursionError:
            return error_body(
                ErrorCode.PARSE_ERROR, "Parse error: JSON nested too deeply", request_id=request_id
            )
        return error_body(
            ErrorCode.BAD_REQUEST,
            'Invalid Request: expected {jsonrpc: "2.0", method: string, params?: object | array,'
            " id?: string | number | null} and nothing else",
            request_id=request_id,
        )

    async def _call(
        self,
        procedure: Procedure,
        path: str,
        params: msgspec.Raw | bytes,
        id: Id,
        caller: Caller,
        request_id: str,
    ) -> tuple[bytes, ErrorCode | None]:
        """Run one call through auth, input decoding and the middleware chain."""
        try:
            result: bytes = await self.call(procedure, path, params, caller, request_id, convert=_encode)
        except RpcError as exc:
            body = error_body(exc.code, exc.message, id=id, path=path, request_id=request_id, extra=exc.data)
            return body, exc.code
        return _response(result, id), None

    # ----- for other wire formats over the same registry (the tRPC adapter) -----------------

    async def call(
        self,
        procedure: Procedure,
        path: str,
        params: msgspec.Raw | bytes,
        caller: Caller,
        request_id: str,
        *,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
        """One call exactly as `/rpc` runs it, returning the Python result instead of bytes.

        Same auth check, `decode_input`, middleware chain, output validation, metrics and
        access log (noted on `caller`; the adapter calls `finish` once its request is done).
        `convert` (e.g. to the adapter's wire form) runs inside the error boundary. Raises the
        call's `RpcError`; any other exception is logged and raised as a generic
        INTERNAL_SERVER_ERROR, so no exception text leaves through an adapter either.
        """
        started = time.perf_counter()
        ctx = Context(self.services, procedure, path, request_id, caller)
        try:
            ctx.params = params
            chain = self._query_chain if procedure.kind == "query" else self._mutation_chain
            value = await chain(ctx)
            if self.validate_output:
                msgspec.json.decode(_encode(value), type=procedure.output_type)
            if convert is not None:
                value = convert(value)
        except RpcError as exc:
            self._observe(ctx, caller, started, exc.code)
            raise
        except Exception:
            log.exception("internal error in %s", path, extra={"fields": {"requestId": request_id}})
            self._observe(ctx, caller, started, ErrorCode.INTERNAL_SERVER_ERROR)
            raise RpcError(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error") from None
        principal = ctx.principal  # `_observe(…, None)`, inline: the path of every call
        caller.finished.append(
            (
                procedure.name,
                procedure.kind,
                "OK",
                time.perf_counter() - started,
                None if principal is None else principal.id,
            )
        )
        return value

    def _observe(self, ctx: Context, caller: Caller, started: float, code: ErrorCode | None) -> None:
        """Note one finished call; `finish` records the request's calls together."""
        principal = ctx.principal
        caller.finished.append(
            (
                ctx.procedure.name,
                ctx.procedure.kind,
                "OK" if code is None else code.name,
                time.perf_counter() - started,
                None if principal is None else principal.id,
            )
        )


def _compose(middleware: Sequence[Middleware], end: Next) -> Next:
    chain = end
    for wrapper in reversed(list(middleware)):
        chain = _Link(wrapper, chain)
    return chain


class _Link:
    """One middleware bound to the rest of the chain, composed once at start-up."""

    __slots__ = ("call_next", "wrapper")

    def __init__(self, wrapper: Middleware, call_next: Next) -> None:
        self.wrapper = wrapper
        self.call_next = call_next

    def __call__(self, ctx: Context) -> Awaitable[Any]:
        return self.wrapper(ctx, self.call_next)


async def _invoke(ctx: Context) -> Any:
    """The end of the middleware chain: authorise, decode the input, run the handler.

    Inside the chain so that middleware (the audit log) also sees calls refused here.
    """
    procedure = ctx.procedure
    if procedure.auth.kind != "public":
        ctx.principal = await ctx.resolve_principal()
        procedure.auth.check(ctx.principal)
    if procedure.decoder is None:
        decode_input(procedure, ctx.params)
        return await procedure.handler(ctx)
    ctx.input = decode_input(procedure, ctx.params)
    return await procedure.handler(ctx, ctx.input)
