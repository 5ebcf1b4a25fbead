"""The hand-written part of the generated client: transport, batches and error mapping.

This file is copied unchanged into `tvms_client/_runtime.py` by `tvms gen-client`; it must
import nothing but the standard library, msgspec and httpx. The server never imports it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

import httpx
import msgspec

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
USER_AGENT = "tvms-client (python)"

# Failures where the request cannot have been processed, or a query can safely be sent again.
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadError, httpx.RemoteProtocolError)


# ----- errors -------------------------------------------------------------------------------


class TvmsError(Exception):
    """Base of every exception this package raises."""


class TransportError(TvmsError):
    """The server could not be reached, or the connection failed (after any retries)."""


class ProtocolError(TvmsError):
    """The server answered with something that is not the expected JSON-RPC response."""


class RpcError(TvmsError):
    """An error answered by the service: `code` (JSON-RPC number), `message`, `data`.

    Subclasses (in `errors.py`) exist per error name; `error_name` is `data.code` (e.g.
    `"NOT_FOUND"`), `issues` the validation problems and `request_id` the server's log key.
    """

    error_name: ClassVar[str | None] = None
    rpc_code: ClassVar[int | None] = None
    _by_name: ClassVar[dict[str, type[RpcError]]] = {}
    _by_code: ClassVar[dict[int, type[RpcError]]] = {}

    def __init_subclass__(cls, *, error_name: str | None = None, rpc_code: int | None = None) -> None:
        super().__init_subclass__()
        if error_name is not None:
            cls.error_name = error_name
            RpcError._by_name[error_name] = cls
        if rpc_code is not None:
            cls.rpc_code = rpc_code
            RpcError._by_code.setdefault(rpc_code, cls)

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"

    @property
    def issues(self) -> list[dict[str, Any]]:
        """Validation problems as `{path, message}` (empty for other errors)."""
        issues = self.data.get("issues") if isinstance(self.data, dict) else None
        return list(issues) if isinstance(issues, list) else []

    @property
    def request_id(self) -> str | None:
        value = self.data.get("requestId") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def reason(self) -> str | None:
        """`data.reason`: the sign-in step still due (`"MFA_REQUIRED"`, `"PASSWORD_EXPIRED"`,
        `"MFA_ENROLMENT_REQUIRED"`) when a login answers PRECONDITION_FAILED."""
        value = self.data.get("reason") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def challenge(self) -> str | None:
        """`data.challenge`: the ticket for the procedure that completes that sign-in step."""
        value = self.data.get("challenge") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @classmethod
    def from_wire(cls, code: int, message: str, data: Any) -> RpcError:
        """The most specific class: by `data.code` (the name), else by the number."""
        name = data.get("code") if isinstance(data, dict) else None
        chosen = RpcError._by_name.get(name) if isinstance(name, str) else None
        chosen = chosen or RpcError._by_code.get(code) or RpcError
        return chosen(code, message, data)


# ----- wire ---------------------------------------------------------------------------------


class _ErrorObject(msgspec.Struct):
    code: int
    message: str
    data: Any = None


class _Response(msgspec.Struct):
    jsonrpc: str = "2.0"
    id: int | str | None = None
    result: msgspec.Raw = msgspec.Raw()
    error: _ErrorObject | None = None


_encoder = msgspec.json.Encoder()
_single = msgspec.json.Decoder(_Response)
_many = msgspec.json.Decoder(_Response | list[_Response])


class Procedure(Generic[T]):
    """One remote procedure: its dotted name, whether it is a query, and its result decoder."""

    __slots__ = ("_decoder", "name", "query")

    def __init__(self, name: str, query: bool, result_type: Any) -> None:
        self.name = name
        self.query = query
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(result_type)

    def decode(self, raw: msgspec.Raw) -> T:
        try:
            return self._decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"{self.name}: the result does not match its type: {exc}") from None

    def __repr__(self) -> str:
        return f"Procedure({self.name!r})"


LOGIN: Procedure[dict[str, Any]] = Procedure("auth.login", False, dict[str, Any])
VERIFY_MFA: Procedure[dict[str, Any]] = Procedure("auth.verifyMfa", False, dict[str, Any])


def build_input(input_type: type[S], given: tuple[S, ...], fields: Mapping[str, Any]) -> S:
    """The input Struct, given whole (one positional argument) or as keyword arguments."""
    if not given:
        return input_type(**fields)
    if len(given) > 1 or fields:
        raise TypeError(f"pass one {input_type.__name__} or keyword arguments, not both")
    if not isinstance(given[0], input_type):
        raise TypeError(f"expected a {input_type.__name__}, got {type(given[0]).__name__}")
    return given[0]


def _request(id: int, procedure: Procedure[Any], params: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": procedure.name, "id": id}
    if params is not None:
        request["params"] = params
    return request


def _decode(response: httpx.Response) -> _Response | list[_Response]:
    try:
        answer: _Response | list[_Response] = _many.decode(response.content)
        return answer
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ProtocolError(
            f"HTTP {response.status_code} from {response.request.url}: not a JSON-RPC response"
        ) from None


def _error(error: _ErrorObject) -> RpcError:
    return RpcError.from_wire(error.code, error.message, error.data)


def _outcome(procedure: Procedure[T], response: _Response) -> T:
    if response.error is not None:
        raise _error(response.error)
    if not len(response.result):
        raise ProtocolError(f"{procedure.name}: the response has neither result nor error")
    return procedure.decode(response.result)


def _token_of(result: Any) -> str:
    token = result.get("token") if isinstance(result, dict) else getattr(result, "token", None)
    if not isinstance(token, str) or not token:
        raise ProtocolError("auth.login answered without a token")
    return token


def _rpc_url(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url if url.endswith("/rpc") else url + "/rpc"


def _backoff(attempt: int) -> float:
    return float(min(0.1 * 2**attempt, 2.0))


class _Options:
    """What both clients share: where, who, how long, how often."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        api_key: str | None,
        retries: int,
        headers: Mapping[str, str] | None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.url = _rpc_url(base_url)
        self.token = token
        self.api_key = api_key
        self.retries = retries
        self.extra_headers = dict(headers or {})
        self._next_id = 0

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json", "user-agent": USER_AGENT}
        headers.update(self.extra_headers)
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers


# ----- batches ------------------------------------------------------------------------------


class Pending(Generic[T]):
    """One call of a batch. `result()` gives its typed value (or raises its error) once sent."""

    __slots__ = ("_done", "_error", "_value", "id", "params", "procedure")

    def __init__(self, procedure: Procedure[T], params: Any, id: int) -> None:
        self.procedure = procedure
        self.params = params
        self.id = id
        self._done = False
        self._value: T | None = None
        self._error: TvmsError | None = None

    def done(self) -> bool:
        return self._done

    def result(self) -> T:
        if not self._done:
            raise RuntimeError(f"{self.procedure.name}: the batch has not been sent yet")
        if self._error is not None:
            raise self._error
        return cast(T, self._value)  # set together with _done

    def _settle(self, response: _Response | None, whole: RpcError | None) -> None:
        self._done = True
        try:
            if whole is not None:
                raise whole
            if response is None:
                raise ProtocolError(f"{self.procedure.name}: the batch response has no answer for it")
            self._value = _outcome(self.procedure, response)
        except TvmsError as exc:
            self._error = exc

    def _fail(self, error: TvmsError) -> None:
        self._done = True
        self._error = error

    def __repr__(self) -> str:
        state = "pending" if not self._done else ("failed" if self._error else "done")
        return f"<Pending {self.procedure.name} {state}>"


class BatchBase:
    """Records calls; the generated subclasses add the accessor tree."""

    def __init__(self) -> None:
        self._items: list[Pending[Any]] = []
        self._sent = False
        self._bind()

    def _bind(self) -> None:
        """Overridden by the generated class to attach the accessor tree."""

    def _call(self, procedure: Procedure[T], params: Any) -> Pending[T]:
        if self._sent:
            raise RuntimeError("this batch was already sent; start a new one")
        pending = Pending(procedure, params, len(self._items) + 1)
        self._items.append(pending)
        return pending

    def __len__(self) -> int:
        return len(self._items)

    def _payload(self) -> bytes:
        self._sent = True
        return _encoder.encode([_request(item.id, item.procedure, item.params) for item in self._items])

    def _all_queries(self) -> bool:
        return all(item.procedure.query for item in self._items)

    def _settle(self, answer: _Response | list[_Response]) -> None:
        if isinstance(answer, _Response):
            # One error for the whole batch (too many items, body too large, ...).
            whole = _error(answer.error) if answer.error is not None else None
            if whole is None:
                raise ProtocolError("a batch was answered with a single result")
            for item in self._items:
                item._settle(None, whole)
            return
        by_id = {response.id: response for response in answer}
        for item in self._items:
            item._settle(by_id.get(item.id), None)

    def _fail(self, error: TvmsError) -> None:
        for item in self._items:
            item._fail(error)


class SyncBatchBase(BatchBase):
    def __init__(self, client: ClientBase) -> None:
        self._client = client
        super().__init__()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.send()

    def send(self) -> None:
        """Send the recorded calls as one request (done by the `with` block on exit)."""
        if not self._items or self._sent:
            return
        try:
            answer = _decode(self._client._post(self._payload(), retry=self._all_queries()))
        except TvmsError as exc:
            self._fail(exc)
            raise
        self._settle(answer)


class AsyncBatchBase(BatchBase):
    def __init__(self, client: AsyncClientBase) -> None:
        self._client = client
        super().__init__()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.send()

    async def send(self) -> None:
        """Send the recorded calls as one request (done by the `async with` block on exit)."""
        if not self._items or self._sent:
            return
        try:
            answer = _decode(await self._client._post(self._payload(), retry=self._all_queries()))
        except TvmsError as exc:
            self._fail(exc)
            raise
        self._settle(answer)


# ----- clients ------------------------------------------------------------------------------


class ClientBase(_Options):
    """Synchronous transport over httpx; the generated `Client` adds the accessor tree.

    `token` is sent as `Authorization: Bearer`, `api_key` as `X-API-Key` (devices). Queries are
    retried `retries` times on connection failures; mutations never are (they may have run).
    `transport` is handed to httpx (e.g. `httpx.MockTransport` or a WSGI transport in tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key, retries=retries, headers=headers)
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._bind()

    def _bind(self) -> None:
        """Overridden by the generated class to attach the accessor tree."""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _post(self, payload: bytes, *, retry: bool) -> httpx.Response:
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                return self._http.post(self.url, content=payload, headers=self._headers())
            except _RETRYABLE as exc:
                if attempt + 1 == attempts:
                    raise TransportError(f"{self.url}: {exc!r}") from exc
            except httpx.HTTPError as exc:
                raise TransportError(f"{self.url}: {exc!r}") from exc
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    def _call(self, procedure: Procedure[T], params: Any) -> T:
        payload = _encoder.encode(_request(self._new_id(), procedure, params))
        answer = _decode(self._post(payload, retry=procedure.query))
        if not isinstance(answer, _Response):
            raise ProtocolError(f"{procedure.name}: a single call was answered with a batch")
        return _outcome(procedure, answer)

    def _login(
        self, procedure: Procedure[T], params: Any, verify: Procedure[T], code: str | None = None
    ) -> T:
        try:
            result = self._call(procedure, params)
        except RpcError as exc:
            if code is None or exc.reason != "MFA_REQUIRED" or exc.challenge is None:
                raise
            result = self._call(verify, {"challenge": exc.challenge, "code": code})
        self.token = _token_of(result)
        return result


class AsyncClientBase(_Options):
    """The asyncio twin of `ClientBase` (httpx.AsyncClient); use it with `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key, retries=retries, headers=headers)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._bind()

    def _bind(self) -> None:
        """Overridden by the generated class to attach the accessor tree."""

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _post(self, payload: bytes, *, retry: bool) -> httpx.Response:
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                return await self._http.post(self.url, content=payload, headers=self._headers())
            except _RETRYABLE as exc:
                if attempt + 1 == attempts:
                    raise TransportError(f"{self.url}: {exc!r}") from exc
            except httpx.HTTPError as exc:
                raise TransportError(f"{self.url}: {exc!r}") from exc
            await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    async def _call(self, procedure: Procedure[T], params: Any) -> T:
        payload = _encoder.encode(_request(self._new_id(), procedure, params))
        answer = _decode(await self._post(payload, retry=procedure.query))
        if not isinstance(answer, _Response):
            raise ProtocolError(f"{procedure.name}: a single call was answered with a batch")
        return _outcome(procedure, answer)

    async def _login(
        self, procedure: Procedure[T], params: Any, verify: Procedure[T], code: str | None = None
    ) -> T:
        try:
            result = await self._call(procedure, params)
        except RpcError as exc:
            if code is None or exc.reason != "MFA_REQUIRED" or exc.challenge is None:
                raise
            result = await self._call(verify, {"challenge": exc.challenge, "code": code})
        self.token = _token_of(result)
        return result
