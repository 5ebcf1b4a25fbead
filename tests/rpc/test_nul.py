"""Hostile strings and integers in every input field of the real API, on either engine.

A NUL character would fail in PostgreSQL (a logged traceback and INTERNAL_SERVER_ERROR) and
behave differently on SQLite (it ends a LIKE pattern there): the decode layer refuses it in
every string, for every procedure alike, with INVALID_PARAMS and its path. Integer fields are
bounded by their types (an integer beyond 64 bits would fail in either database).
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from tests.support import as_device, as_role
from tvms.rpc.router import Procedure

HOSTILE_STRING = "x\u0000' OR 1=1 --"
HOSTILE_INT = 2**64 + 1
Step = str | int


def _leaves(
    info: Any, path: list[Step], kinds: tuple[type, ...], seen: frozenset[Any]
) -> Iterator[list[Step]]:
    """Paths (field names, 0 for a list item) to every leaf of one of `kinds` inside `info`."""
    mi = msgspec.inspect
    if isinstance(info, mi.Metadata):
        yield from _leaves(info.type, path, kinds, seen)
    elif isinstance(info, kinds):
        yield path
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from _leaves(member, path, kinds, seen)
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield from _leaves(info.item_type, [*path, 0], kinds, seen)
    elif isinstance(info, mi.StructType) and info.cls not in seen:
        for field in info.fields:
            yield from _leaves(field.type, [*path, field.encode_name], kinds, seen | {info.cls})


def _cases(registry: dict[str, Procedure], kinds: tuple[type, ...]) -> list[tuple[str, list[Step]]]:
    cases = []
    for name, procedure in sorted(registry.items()):
        if procedure.input_type is not None:
            info = msgspec.inspect.type_info(procedure.input_type)
            for path in _leaves(info, [], kinds, frozenset()):
                cases.append((name, path))
    return cases


def _params(procedure: Procedure, path: list[Step], value: Any) -> dict[str, Any]:
    """The procedure's first example (or nothing) with `value` at `path`."""
    params: dict[str, Any] = copy.deepcopy(dict(procedure.examples[0].params)) if procedure.examples else {}
    holder: Any = params
    for step, following in itertools.pairwise(path):
        if isinstance(step, int):
            if not holder:
                holder.append({} if isinstance(following, str) else [])
            holder = holder[0]
        else:
            if not isinstance(holder.get(step), dict | list):
                holder[step] = {} if isinstance(following, str) else []
            holder = holder[step]
    last = path[-1]
    if isinstance(last, int):
        holder[:] = [value]
    else:
        holder[last] = value
    return params


def _issue_path(path: list[Step]) -> str:
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def _headers(procedure: Procedure) -> dict[str, str]:
    kind = procedure.auth.kind
    if kind == "device":
        return as_device("sensor-fuzz")
    return {} if kind == "public" else as_role("ADMIN", "admin-fuzz")


async def _refused_everywhere(
    app: Starlette,
    client: httpx.AsyncClient,
    kinds: tuple[type, ...],
    value: Any,
    caplog: pytest.LogCaptureFixture,
) -> int:
    registry: dict[str, Procedure] = app.state.dispatcher.registry
    cases = _cases(registry, kinds)
    caplog.set_level(logging.ERROR)
    for index, (name, path) in enumerate(cases):
        procedure = registry[name]
        request = {"jsonrpc": "2.0", "method": name, "params": _params(procedure, path, value), "id": index}
        response = await client.post("/rpc", json=request, headers=_headers(procedure))
        body = response.json()
        assert "error" in body, (name, path, body)
        error = body["error"]
        assert error["code"] == -32602, (name, path, error)
        assert error["data"]["issues"][0]["path"] == _issue_path(path), (name, path, error)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    return len(cases)


async def test_nul_in_any_string_field_is_invalid_params(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    mi = msgspec.inspect
    textual = (mi.StrType, mi.AnyType, mi.EnumType, mi.LiteralType, mi.DateTimeType, mi.DateType)
    count = await _refused_everywhere(app, client, textual, HOSTILE_STRING, caplog)
    assert count > 120  # every procedure's string-like fields, not a sample


async def test_integers_beyond_64_bits_are_invalid_params(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    mi = msgspec.inspect
    count = await _refused_everywhere(app, client, (mi.IntType,), HOSTILE_INT, caplog)
    assert count > 20


async def test_a_nul_search_matches_nothing_it_is_refused(client: httpx.AsyncClient) -> None:
    """On SQLite a NUL used to end the LIKE pattern early, so this search matched every sensor."""
    admin = as_role("ADMIN")
    create = {"name": "Abay North", "deviceId": "CAM-NUL-1", "type": "CAMERA"}
    created = await client.post(
        "/rpc", json={"jsonrpc": "2.0", "method": "sensors.create", "params": create, "id": 1}, headers=admin
    )
    assert "result" in created.json(), created.text
    for search in ("\u0000", "\u0000zzz", "Abay\u0000"):
        body = (
            await client.post(
                "/rpc",
                json={"jsonrpc": "2.0", "method": "sensors.getAll", "params": {"search": search}, "id": 2},
                headers=admin,
            )
        ).json()
        assert body["error"]["code"] == -32602 and body["error"]["data"]["issues"][0]["path"] == "$.search"


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(client: httpx.AsyncClient) -> None:
    """`\\\\u0000` in JSON is the six characters `\\u0000`, not a NUL: it stays allowed."""
    raw = b'{"jsonrpc":"2.0","method":"sensors.getAll","params":{"search":"a\\\\u0000"},"id":1}'
    body = (await client.post("/rpc", content=raw, headers={"content-type": "application/json"})).json()
    assert "result" in body, body


async def test_events_cursor_beyond_64_bits_is_invalid_params(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    import base64

    caplog.set_level(logging.ERROR)
    for payload in (b'[18446744073709551617,"e"]', b'[-9223372036854775809,"e"]', b'[1,"e\\u0000"]'):
        cursor = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        body = (
            await client.post(
                "/rpc",
                json={"jsonrpc": "2.0", "method": "events.getAll", "params": {"cursor": cursor}, "id": 1},
                headers=as_role("VIEWER"),
            )
        ).json()
        assert body["error"]["code"] == -32602, body
        assert body["error"]["data"]["issues"][0]["path"] == "$.cursor"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
