"""`/trpc` in-process: the wire as @trpc/server 11 answers it (resolveResponse, getHTTPStatusCode)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import as_role, result
from tvms.trpc import superjson

LICENSE = "system.getLicense"
TIMEZONE = "system.timezone.getTimezoneSettings"
UPDATE_TIMEZONE = "system.timezone.updateTimezoneSettings"
ADMIN = as_role("ADMIN")
VIEWER = as_role("VIEWER")
JSON_BODY = {"content-type": "application/json"}


def envelope(value: Any, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"json": value} if meta is None else {"json": value, "meta": meta}


async def get(
    client: httpx.AsyncClient,
    path: str,
    input: Any = None,
    *,
    batch: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    query = ["batch=1"] if batch else []
    if input is not None:
        query.append("input=" + quote(json.dumps(input), safe=""))
    url = f"/trpc/{path}" + ("?" + "&".join(query) if query else "")
    return await client.get(url, headers=headers)


async def post(
    client: httpx.AsyncClient,
    path: str,
    input: Any = None,
    *,
    batch: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = b"" if input is None else json.dumps(input).encode()
    url = f"/trpc/{path}" + ("?batch=1" if batch else "")
    return await client.post(url, content=body, headers={**JSON_BODY, **(headers or {})})


def data(response: httpx.Response) -> Any:
    """The superjson `json` of a single successful response."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"result"} and set(body["result"]) == {"data"}, body
    return body["result"]["data"]["json"]


def failure(body: Any) -> dict[str, Any]:
    """The error shape (inside the superjson envelope) of one response object."""
    assert set(body) == {"error"} and set(body["error"]) == {"json"}, body
    shape: dict[str, Any] = body["error"]["json"]
    assert set(shape) == {"message", "code", "data"}, shape
    return shape


# ----- queries, mutations, superjson ------------------------------------------------------------


async def test_query_by_get_equals_the_json_rpc_result(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, LICENSE)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    assert data(response) == await result(trpc, LICENSE)
    assert response.json()["result"]["data"] == {"json": await result(trpc, LICENSE)}  # no meta


async def test_query_with_input_and_bearer(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, "settings.getByCategory", envelope({"category": "SECURITY"}), headers=VIEWER)
    got = data(response)
    assert got == await result(trpc, "settings.getByCategory", {"category": "SECURITY"}, headers=VIEWER)
    assert got and {item["category"] for item in got} == {"SECURITY"}


async def test_query_without_input_sent_by_the_client_as_undefined(trpc: httpx.AsyncClient) -> None:
    # superjson.serialize(undefined), as `client.x.query()` sends it
    undefined = {"json": None, "meta": {"values": ["undefined"], "v": 1}}
    assert data(await get(trpc, TIMEZONE, undefined))["timezone"] == "Asia/Almaty"
    assert data(await get(trpc, TIMEZONE, {}))["timezone"] == "Asia/Almaty"  # no `json` at all
    assert (await trpc.get(f"/trpc/{TIMEZONE}?input=")).status_code == 200


async def test_mutation_by_post_writes(trpc: httpx.AsyncClient) -> None:
    response = await post(trpc, UPDATE_TIMEZONE, envelope({"timezone": "Europe/Berlin"}), headers=ADMIN)
    assert data(response)["timezone"] == "Europe/Berlin"
    assert data(await get(trpc, TIMEZONE))["timezone"] == "Europe/Berlin"


async def test_date_input_arrives_as_our_iso_string_and_datetime_output_leaves_as_date(
    trpc: httpx.AsyncClient,
) -> None:
    # what superjson.serialize({at: new Date(...), label: "x", note: undefined}) produces
    sent = envelope(
        {"at": "2024-11-15T12:00:00.000Z", "label": "x", "note": None},
        {"values": {"at": ["Date"], "note": ["undefined"]}, "v": 1},
    )
    response = await post(trpc, "probe.stamp", sent, headers=as_role("OPERATOR", "op-7"))
    assert response.status_code == 200, response.text
    body = response.json()["result"]["data"]
    assert body["json"] == {
        "at": "2024-11-15T12:00:00.000Z",
        "atText": "2024-11-15T12:00:00+00:00",
        "label": "x",
        "count": None,
        "history": ["2024-11-15T12:00:00.000Z", "2024-01-01T00:00:00.000Z"],
        "by": "op-7",
    }
    assert body["meta"] == {
        "values": {"at": ["Date"], "history.0": ["Date"], "history.1": ["Date"]},
        "v": 1,
    }


async def test_iso_string_outputs_stay_strings(trpc: httpx.AsyncClient) -> None:
    license = (await get(trpc, LICENSE)).json()["result"]["data"]
    assert license["json"]["issuedAt"] == "2024-01-01T00:00:00.000Z" and "meta" not in license


async def test_bigint_set_and_map_inputs(trpc: httpx.AsyncClient) -> None:
    sent = envelope(
        {"at": "2024-11-15T12:00:00.000Z", "count": "12", "label": [["a", 1]]},
        {"values": {"at": ["Date"], "count": ["bigint"]}, "v": 1},
    )
    bad = await post(trpc, "probe.stamp", sent, headers=ADMIN)  # label is a list, not a string
    assert failure(bad.json())["data"]["issues"][0]["path"] == "$.label"
    sent["json"]["label"] = "ok"
    got = data(await post(trpc, "probe.stamp", sent, headers=ADMIN))
    assert got["count"] == 12
    tags = envelope({"tags": ["a", "b"]}, {"values": {"tags": ["set"]}, "v": 1})
    assert data(await get(trpc, "probe.echo", tags)) == {"text": "", "tags": ["a", "b"]}


async def test_plain_value_in_place_of_an_envelope_is_refused(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, "probe.echo", ["text"])
    assert response.status_code == 400
    shape = failure(response.json())
    assert shape["data"]["code"] == "BAD_REQUEST" and "superjson" in shape["message"]


# ----- batches -----------------------------------------------------------------------------------


async def test_get_batch_answers_an_array_in_order(trpc: httpx.AsyncClient) -> None:
    paths = [LICENSE, TIMEZONE, "probe.echo", "system.getSettings", "probe.echo"]
    inputs = {"2": envelope({"text": "two"}), "4": envelope({"text": "four", "tags": ["x"]})}
    response = await get(trpc, ",".join(paths), inputs, batch=True)
    assert response.status_code == 200
    items = response.json()
    assert [list(item) for item in items] == [["result"]] * 5
    assert items[0]["result"]["data"]["json"] == await result(trpc, LICENSE)
    assert items[2]["result"]["data"]["json"] == {"text": "two", "tags": []}
    assert items[4]["result"]["data"]["json"] == {"text": "four", "tags": ["x"]}


async def test_post_batch_runs_mutations_in_order(trpc: httpx.AsyncClient) -> None:
    response = await post(trpc, "probe.bump,probe.bump,probe.bump", {}, batch=True)
    assert response.status_code == 200
    assert [item["result"]["data"]["json"]["value"] for item in response.json()] == [1, 2, 3]


async def test_mixed_batch_is_207_and_each_call_stands_alone(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, f"{LICENSE},no.suchThing,settings.getAll", batch=True)
    assert response.status_code == 207
    ok, missing, unauthorised = response.json()
    assert ok["result"]["data"]["json"]["type"] == "enterprise"
    assert failure(missing)["data"] | {"requestId": None} == {
        "code": "NOT_FOUND",
        "httpStatus": 404,
        "path": "no.suchThing",
        "requestId": None,
    }
    assert failure(missing)["code"] == -32004
    assert failure(missing)["message"] == 'No procedure found on path "no.suchThing"'
    assert failure(unauthorised)["data"]["code"] == "UNAUTHORIZED"


async def test_batch_of_equal_errors_takes_their_status(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, "a.b,c.d", batch=True)
    assert response.status_code == 404
    assert [failure(item)["data"]["path"] for item in response.json()] == ["a.b", "c.d"]


async def test_batch_limit_refuses_the_whole_request(trpc: httpx.AsyncClient) -> None:
    calls = ",".join(["probe.bump"] * 101)  # the default limit is 100, as for /rpc
    response = await post(trpc, calls, {}, batch=True)
    assert response.status_code == 400
    shape = failure(response.json())  # one error object, not an array
    assert shape["data"]["code"] == "BAD_REQUEST" and "maximum size" in shape["message"]
    assert "path" not in shape["data"]
    assert data(await get(trpc, "probe.bumps"))["value"] == 0
    full = await post(trpc, ",".join(["probe.bump"] * 100), {}, batch=True)
    assert full.status_code == 200 and len(full.json()) == 100


async def test_queries_and_mutations_cannot_share_a_batch(trpc: httpx.AsyncClient) -> None:
    response = await post(trpc, f"probe.bump,{LICENSE}", {}, batch=True)
    assert response.status_code == 400
    shape = failure(response.json())
    assert shape["message"] == "Cannot mix procedure types in call: mutation, query"
    assert data(await get(trpc, "probe.bumps"))["value"] == 0


async def test_batch_input_must_be_an_object(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, f"{LICENSE},{TIMEZONE}", [1, 2], batch=True)
    assert response.status_code == 400
    assert [failure(item)["message"] for item in response.json()] == [
        '"input" needs to be an object when doing a batch call'
    ] * 2


# ----- errors and HTTP status --------------------------------------------------------------------


async def test_mutation_by_get_is_405_and_does_not_run(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, "probe.bump")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    shape = failure(response.json())
    assert shape["code"] == -32005 and shape["data"]["code"] == "METHOD_NOT_SUPPORTED"
    assert shape["message"] == 'Unsupported GET-request to mutation procedure at path "probe.bump"'
    batched = await get(trpc, "probe.bump,probe.bump", batch=True)
    assert batched.status_code == 405
    assert data(await get(trpc, "probe.bumps"))["value"] == 0


async def test_query_by_post_is_405(trpc: httpx.AsyncClient) -> None:
    response = await post(trpc, LICENSE, envelope(None))
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert failure(response.json())["message"] == (
        f'Unsupported POST-request to query procedure at path "{LICENSE}"'
    )


async def test_other_methods_are_405(trpc: httpx.AsyncClient) -> None:
    response = await trpc.put(f"/trpc/{LICENSE}", content=b"{}", headers=JSON_BODY)
    assert response.status_code == 405
    assert failure(response.json())["data"]["code"] == "METHOD_NOT_SUPPORTED"


async def test_head_is_an_empty_204(trpc: httpx.AsyncClient) -> None:
    response = await trpc.head(f"/trpc/{LICENSE}")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("input", "path"),
    [
        ({"text": 5}, "$.text"),
        ({"tags": "x"}, "$.tags"),
        ({"tags": ["a", 1]}, "$.tags[1]"),
        ({"unknown": True}, "$"),
        ({"text": "'; DROP TABLE settings;--", "extra": 1}, "$"),
    ],
)
async def test_validation_failure_is_bad_request_400(
    trpc: httpx.AsyncClient, input: dict[str, Any], path: str
) -> None:
    response = await get(trpc, "probe.echo", envelope(input))
    assert response.status_code == 400
    shape = failure(response.json())
    assert shape["code"] == -32600
    assert shape["data"]["code"] == "BAD_REQUEST" and shape["data"]["httpStatus"] == 400
    assert shape["data"]["path"] == "probe.echo"
    assert shape["data"]["issues"][0]["path"] == path


async def test_input_to_a_procedure_without_input_is_refused(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, LICENSE, envelope({"x": 1}))
    assert response.status_code == 400 and failure(response.json())["data"]["code"] == "BAD_REQUEST"


async def test_non_object_input_is_refused(trpc: httpx.AsyncClient) -> None:
    for value in ([{"text": "a"}], "text", 5, True):
        response = await get(trpc, "probe.echo", envelope(value))
        assert response.status_code == 400, value
        assert failure(response.json())["data"]["issues"][0]["path"] == "$"


async def test_unreadable_input_is_bad_request(trpc: httpx.AsyncClient) -> None:
    response = await trpc.get(f"/trpc/{LICENSE}?input=%7Bnot%20json")
    assert response.status_code == 400
    assert failure(response.json())["data"]["code"] == "BAD_REQUEST"
    deep = "[" * 100_000 + "]" * 100_000
    response = await trpc.post("/trpc/probe.bump", content=deep.encode(), headers=JSON_BODY)
    assert response.status_code == 400
    response = await trpc.get(f"/trpc/{LICENSE}?input=%FF%FE")
    assert response.status_code == 400


async def test_auth_errors_carry_their_codes(trpc: httpx.AsyncClient) -> None:
    none = await post(trpc, UPDATE_TIMEZONE, envelope({"timezone": "UTC"}))
    assert none.status_code == 401 and failure(none.json())["code"] == -32001
    viewer = await post(trpc, UPDATE_TIMEZONE, envelope({"timezone": "UTC"}), headers=VIEWER)
    assert viewer.status_code == 403 and failure(viewer.json())["data"]["code"] == "FORBIDDEN"
    forged = await get(trpc, "settings.getAll", headers={"authorization": "Bearer forged"})
    assert forged.status_code == 401
    assert data(await get(trpc, TIMEZONE))["timezone"] == "Asia/Almaty"  # nothing was written


async def test_internal_errors_do_not_leak(trpc: httpx.AsyncClient) -> None:
    response = await get(trpc, "probe.boom")
    assert response.status_code == 500
    shape = failure(response.json())
    assert shape == {
        "message": "Internal server error",
        "code": -32603,
        "data": {
            "code": "INTERNAL_SERVER_ERROR",
            "httpStatus": 500,
            "path": "probe.boom",
            "requestId": response.headers["x-request-id"],
        },
    }
    assert "secret" not in response.text


async def test_request_id_is_echoed_in_errors(trpc: httpx.AsyncClient) -> None:
    response = await trpc.get("/trpc/no.where", headers={"x-request-id": "trace-8"})
    assert failure(response.json())["data"]["requestId"] == "trace-8"


async def test_long_paths_are_not_echoed_whole(trpc: httpx.AsyncClient) -> None:
    name = "a." + "b" * 5000
    response = await trpc.get(f"/trpc/{name}")
    assert response.status_code == 404
    assert len(failure(response.json())["data"]["path"]) == 200
    assert len(response.content) < 2000


async def test_post_needs_a_json_content_type(trpc: httpx.AsyncClient) -> None:
    response = await trpc.post("/trpc/probe.bump", content=b"{}")
    assert response.status_code == 415
    assert failure(response.json())["message"] == "Missing content-type header"
    response = await trpc.post("/trpc/probe.bump", content=b"{}", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert data(await get(trpc, "probe.bumps"))["value"] == 0
    charset = await trpc.post(
        "/trpc/probe.bump", content=b"", headers={"content-type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 200


async def test_body_over_the_limit_is_413(trpc: httpx.AsyncClient) -> None:
    big = b'{"json":{"text":"' + b"x" * (10 * 1024 * 1024) + b'"}}'
    response = await trpc.post("/trpc/probe.bump", content=big, headers=JSON_BODY)
    assert response.status_code == 413
    assert failure(response.json())["data"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_rpc_is_unchanged_beside_trpc(trpc: httpx.AsyncClient) -> None:
    response = await trpc.post(
        "/rpc", json={"jsonrpc": "2.0", "method": "probe.echo", "params": {"text": 1}, "id": 3}
    )
    body = response.json()
    assert response.status_code == 200 and body["error"]["code"] == -32602 and body["id"] == 3


async def test_calls_are_counted_in_metrics(trpc: httpx.AsyncClient) -> None:
    await get(trpc, "probe.echo", envelope({"text": "a"}))
    await get(trpc, "probe.echo", envelope({"text": 1}))
    metrics = (await trpc.get("/metrics")).text
    assert 'procedure="probe.echo",outcome="OK"' in metrics
    assert 'procedure="probe.echo",outcome="INVALID_PARAMS"' in metrics


# ----- without a transformer ---------------------------------------------------------------------


async def test_plain_json_clients(trpc: httpx.AsyncClient) -> None:
    response = await trpc.get("/trpc-plain/probe.echo?input=" + quote(json.dumps({"text": "hi"})))
    assert response.json() == {"result": {"data": {"text": "hi", "tags": []}}}
    stamped = await trpc.post(
        "/trpc-plain/probe.stamp",
        content=json.dumps({"at": "2024-11-15T12:00:00.000Z"}).encode(),
        headers={**JSON_BODY, **ADMIN},
    )
    assert stamped.json()["result"]["data"]["at"] == "2024-11-15T12:00:00Z"
    batch = await trpc.get("/trpc-plain/probe.echo,no.where?batch=1&input=" + quote('{"0":{"text":"x"}}'))
    assert batch.status_code == 207
    ok, missing = batch.json()
    assert ok == {"result": {"data": {"text": "x", "tags": []}}}
    assert missing["error"]["data"]["code"] == "NOT_FOUND" and "json" not in missing["error"]


# ----- hostile inputs ---------------------------------------------------------------------------


class _Spy:
    """Counts what the superjson parser builds while it reads `meta.values`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.segments = 0
        self.applied = 0
        parse, apply = superjson.parse_path, superjson._apply

        def counting_parse(text: str, legacy: bool) -> list[str]:
            found = parse(text, legacy)
            self.segments += len(found)
            return found

        def counting_apply(holder: list[Any], path: list[str], annotation: Any) -> None:
            self.applied += 1
            apply(holder, path, annotation)

        monkeypatch.setattr(superjson, "parse_path", counting_parse)
        monkeypatch.setattr(superjson, "_apply", counting_apply)


async def test_a_9_mib_dotted_path_is_refused_before_it_is_split(
    trpc: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's stall: one anonymous body whose only annotation is a 9 MiB path."""
    spy = _Spy(monkeypatch)
    path = ".".join(["a"] * (9 * 1024 * 1024 // 2))
    body = envelope({"a": 1}, {"values": {path: ["undefined"]}, "v": 1})
    response = await post(trpc, "probe.bump", body)
    assert response.status_code == 400
    shape = failure(response.json())
    assert shape["data"]["code"] == "BAD_REQUEST"
    assert f"longer than {superjson.MAX_PATH_LENGTH} characters" in shape["message"]
    assert spy.segments == 0 and spy.applied == 0
    assert data(await get(trpc, "probe.bumps")) == {"value": 0}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({f"k{i}": ["undefined"] for i in range(50_000)}, "more than 1000 paths"),
        ({".".join(["a"] * 33): ["undefined"]}, "deeper than 32 levels"),
        ({"a": [["undefined"], {"a": [["undefined"], {"a": ["undefined"]}]}]} | {"b" * 40: ["Date"]}, None),
    ],
    ids=["too many", "too deep", "nested within limits"],
)
async def test_superjson_metadata_is_bounded(
    trpc: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, values: dict[str, Any], message: str | None
) -> None:
    spy = _Spy(monkeypatch)
    response = await post(trpc, "probe.bump", envelope({"a": 1}, {"values": values, "v": 1}))
    assert response.status_code == 400
    shape = failure(response.json())
    if message is not None:  # refused from the tree alone: nothing was applied to the input
        assert message in shape["message"] and spy.applied == 0
    assert spy.applied <= superjson.MAX_ANNOTATIONS
    assert spy.segments <= superjson.MAX_ANNOTATIONS * superjson.MAX_PATH_DEPTH


async def test_nested_annotations_within_the_limits_apply(trpc: httpx.AsyncClient) -> None:
    nested = {"text": None, "tags": ["x", "y"]}
    meta = {"values": {"text": ["undefined"], "tags": ["set"]}, "v": 1}
    response = await get(trpc, "probe.echo", envelope(nested, meta))
    assert data(response) == {"text": "", "tags": ["x", "y"]}


@pytest.mark.parametrize(
    "raw",
    [b'{"json":{"text":"\xc3\x28"}}', b'{"json":{"te\xffxt":"a"}}', b'{"json":"\xed\xa0\x80"}'],
    ids=["in a value", "in a key", "a surrogate"],
)
async def test_invalid_utf8_in_a_body_is_a_parse_error(trpc: httpx.AsyncClient, raw: bytes) -> None:
    response = await trpc.post("/trpc/probe.bump", content=raw, headers=JSON_BODY)
    assert response.status_code == 400
    assert failure(response.json())["data"]["code"] == "PARSE_ERROR"
    assert data(await get(trpc, "probe.bumps")) == {"value": 0}
