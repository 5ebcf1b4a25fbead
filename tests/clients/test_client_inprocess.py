"""The generated client against the app in-process (httpx ASGI transport, test resolver)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
import tvms_client
from starlette.applications import Starlette
from tvms_client import AsyncClient, Client, models

ADMIN = "test:ADMIN:admin-1"
VIEWER = "test:VIEWER:viewer-1"


@pytest.fixture
def connect(app: Starlette) -> Callable[..., AsyncClient]:
    def make(token: str | None = None, **options: object) -> AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        return AsyncClient("http://tvms.test", token=token, transport=transport, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def admin(connect: Callable[..., AsyncClient]) -> AsyncIterator[AsyncClient]:
    async with connect(ADMIN) as client:
        yield client


async def test_typed_results_read_wire_names(admin: AsyncClient) -> None:
    licence = await admin.system.get_license()
    assert isinstance(licence, models.License)
    assert licence.max_users == -1 and licence.max_sensors == -1  # wire: maxUsers / maxSensors
    # timestamps arrive as timezone-aware datetimes, not strings
    assert licence.issued_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert licence.issued_at.utcoffset() == timedelta(0)
    tz = await admin.system.timezone.get_timezone_settings()
    assert tz == models.TimezoneSettings(
        timezone="Asia/Almaty", use_24_hour_format=True, date_format="DD/MM/YYYY", first_day_of_week=1
    )


async def test_keyword_arguments_and_struct_inputs_are_the_same_call(admin: AsyncClient) -> None:
    by_keywords = await admin.system.timezone.update_timezone_settings(timezone="Europe/Berlin")
    assert by_keywords.timezone == "Europe/Berlin"
    by_struct = await admin.system.timezone.update_timezone_settings(
        models.TimezoneUpdate(use_24_hour_format=False, first_day_of_week=0)
    )
    assert (by_struct.timezone, by_struct.use_24_hour_format, by_struct.first_day_of_week) == (
        "Europe/Berlin",
        False,
        0,
    )
    settings = await admin.settings.get_by_category(category="GENERAL")
    assert {s.key for s in settings} >= {"app.timezone", "app.name"}
    assert all(isinstance(s, models.Setting) and s.category == "GENERAL" for s in settings)


async def test_an_input_struct_and_keywords_together_are_refused(admin: AsyncClient) -> None:
    with pytest.raises(TypeError):
        await admin.system.timezone.update_timezone_settings(  # type: ignore[call-overload]
            models.TimezoneUpdate(timezone="UTC"), timezone="UTC"
        )
    with pytest.raises(TypeError):
        await admin.settings.update(key="app.name")  # type: ignore[call-overload]  # `value` missing


async def test_errors_are_typed(admin: AsyncClient, connect: Callable[..., AsyncClient]) -> None:
    with pytest.raises(tvms_client.InvalidParamsError) as invalid:
        await admin.system.timezone.update_timezone_settings(timezone="Mars/Olympus")
    assert invalid.value.code == -32602 and invalid.value.error_name == "INVALID_PARAMS"
    assert invalid.value.issues[0]["path"] == "$.timezone"
    assert invalid.value.request_id
    with pytest.raises(tvms_client.InvalidParamsError):
        await admin.system.timezone.update_timezone_settings(first_day_of_week=9)  # Meta(le=6) on the server
    async with connect() as anonymous:
        with pytest.raises(tvms_client.UnauthorizedError) as unauthorized:
            await anonymous.settings.get_all()
        assert isinstance(unauthorized.value, tvms_client.RpcError) and unauthorized.value.code == -32001
    async with connect(VIEWER) as viewer:
        with pytest.raises(tvms_client.ForbiddenError):
            await viewer.settings.update(key="app.name", value="x")
        with pytest.raises(tvms_client.NotFoundError):
            await admin.settings.update_feature_flag(key="noSuchFlag", enabled=True)


async def test_a_batch_is_one_request_and_each_item_succeeds_or_fails_alone(
    app: Starlette, connect: Callable[..., AsyncClient]
) -> None:
    requests: list[httpx.Request] = []

    async def count(request: httpx.Request) -> None:
        requests.append(request)

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with AsyncClient("http://tvms.test/", token=VIEWER, transport=transport) as client:
        client._http.event_hooks["request"] = [count]
        async with client.batch() as batch:
            licence = batch.system.get_license()
            tz = batch.system.timezone.get_timezone_settings()
            health = batch.system.health()
            flags = batch.settings.get_feature_flags()
            denied = batch.settings.update(key="app.name", value="Viewer was here")
            with pytest.raises(RuntimeError):
                licence.result()  # not sent yet
        assert len(requests) == 1
        assert len(msgspec.json.decode(requests[0].content)) == 5
        assert licence.result().max_users == -1
        assert tz.result().timezone == "Asia/Almaty"
        assert health.result().status in ("ok", "degraded")
        assert {flag.key for flag in flags.result()} >= {"analytics"}
        with pytest.raises(tvms_client.ForbiddenError):
            denied.result()
        with pytest.raises(RuntimeError):
            batch.system.health()  # a sent batch takes no more calls


def test_sync_client_retries_queries_but_never_mutations() -> None:
    attempts: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(msgspec.json.decode(request.content)["method"])
        raise httpx.ConnectError("refused", request=request)

    with Client("http://tvms.test", transport=httpx.MockTransport(refuse), retries=2) as client:
        with pytest.raises(tvms_client.TransportError):
            client.system.get_license()
        assert attempts == ["system.getLicense"] * 3
        attempts.clear()
        with pytest.raises(tvms_client.TransportError):
            client.settings.update(key="app.name", value="x")
        assert attempts == ["settings.update"]


def test_sync_client_sends_credentials_and_maps_errors_by_name() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = msgspec.json.decode(request.content)
        error = {"code": -32004, "message": "Sensor 'x' not found", "data": {"code": "NOT_FOUND"}}
        return httpx.Response(200, json={"jsonrpc": "2.0", "error": error, "id": body["id"]})

    with Client("http://tvms.test", api_key="dev-key", transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(tvms_client.NotFoundError) as raised:
            client.system.get_license()
        assert raised.value.message == "Sensor 'x' not found"
        assert seen[0].headers["x-api-key"] == "dev-key" and "authorization" not in seen[0].headers
        assert seen[0].url.path == "/rpc"
        client.token = "abc"
        with pytest.raises(tvms_client.NotFoundError):
            client.system.get_license()
        assert seen[1].headers["authorization"] == "Bearer abc"


def test_unknown_error_names_fall_back_to_the_numeric_code() -> None:
    error = tvms_client.RpcError.from_wire(-32009, "taken", {"code": "SOMETHING_NEW"})
    assert type(error) is tvms_client.ConflictError
    assert type(tvms_client.RpcError.from_wire(-1, "odd", None)) is tvms_client.RpcError


def test_a_non_json_rpc_answer_is_a_protocol_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>bad gateway</html>"))
    with Client("http://tvms.test", transport=transport) as client, pytest.raises(tvms_client.ProtocolError):
        client.system.get_license()


def test_every_error_code_has_its_exception() -> None:
    from tvms.rpc.errors import ErrorCode

    for code in ErrorCode:
        cls = type(tvms_client.RpcError.from_wire(code.rpc_code, "m", {"code": code.name}))
        assert (
            cls is not tvms_client.RpcError and cls.error_name == code.name and cls.rpc_code == code.rpc_code
        )


async def test_datetimes_go_in_and_come_out_aware(admin: AsyncClient) -> None:
    """An aware datetime is accepted as an input and the answer's instants are aware datetimes."""
    from zoneinfo import ZoneInfo

    start = datetime(2024, 11, 1, 5, 0, tzinfo=ZoneInfo("Asia/Almaty"))  # 2024-11-01T00:00Z
    stats = await admin.reports.get_dashboard_stats(
        models.OptionalPeriodInput(from_=start, to=start + timedelta(days=1))
    )
    assert stats.from_ == datetime(2024, 11, 1, tzinfo=UTC)
    assert stats.to == datetime(2024, 11, 2, tzinfo=UTC)
    assert stats.from_.tzinfo is not None
