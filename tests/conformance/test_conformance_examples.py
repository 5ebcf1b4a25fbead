"""Replaying OpenRPC examples, and the command-line surface of the runner."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx
import pytest

from tvms.conformance import register
from tvms.conformance.runner import run_examples

METHOD = {
    "name": "test.add",
    "paramStructure": "by-name",
    "params": [{"name": "a", "schema": {}}, {"name": "b", "schema": {}}],
    "result": {"name": "sum", "schema": {}},
}


def server(methods: list[dict[str, Any]], seen: list[Any]) -> httpx.Client:
    """A fake server: `test.add` adds a and b (by name or position); anything else fails."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openrpc.json":
            return httpx.Response(200, json={"openrpc": "1.3.2", "methods": methods})
        call = json.loads(request.content)
        seen.append(call)
        params = call.get("params")
        if call["method"] == "test.add":
            a, b = (params["a"], params["b"]) if isinstance(params, dict) else params
            return httpx.Response(200, json={"jsonrpc": "2.0", "result": a + b, "id": call["id"]})
        error = {"code": -32601, "message": "Method not found"}
        return httpx.Response(200, json={"jsonrpc": "2.0", "error": error, "id": call["id"]})

    return httpx.Client(transport=httpx.MockTransport(handle))


def example(name: str, a: int, b: int, result: Any) -> dict[str, Any]:
    return {
        "name": name,
        "params": [{"name": "a", "value": a}, {"name": "b", "value": b}],
        "result": {"name": "sum", "value": result},
    }


def test_examples_are_replayed_and_compared() -> None:
    seen: list[Any] = []
    methods = [
        {
            **METHOD,
            "examples": [example("right", 1, 2, 3), example("varies", 1, 2, 4), example("wrong", 1, 2, "3")],
        },
        {"name": "test.other", "params": [], "examples": [{"name": "fails", "params": []}]},
        {"name": "test.none", "params": []},
    ]
    with server(methods, seen) as client:
        results = run_examples(client, "http://fake")
    assert [(r.name, r.passed) for r in results] == [
        ("test.add example right", True),
        ("test.add example varies", True),
        ("test.add example wrong", False),
        ("test.other example fails", False),
    ]
    assert results[1].detail == "same shape; values vary at $"
    assert "differs" in results[2].detail
    assert "-32601" in results[3].detail
    assert seen[0]["params"] == {"a": 1, "b": 2}


def test_by_position_examples() -> None:
    seen: list[Any] = []
    methods = [{**METHOD, "paramStructure": "by-position", "examples": [example("pos", 5, 6, 11)]}]
    with server(methods, seen) as client:
        results = run_examples(client, "http://fake")
    assert [r.passed for r in results] == [True]
    assert seen[0]["params"] == [5, 6]


def test_no_examples_is_reported_not_failed() -> None:
    with server([METHOD], []) as client:
        results = run_examples(client, "http://fake")
    assert [(r.passed, r.detail) for r in results] == [(True, "0 examples")]


def test_no_document_fails() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(404, text="nope")))
    with client:
        results = run_examples(client, "http://fake")
    assert [r.passed for r in results] == [False]


def test_register_adds_the_command() -> None:
    root = argparse.ArgumentParser(prog="tvms")
    commands = root.add_subparsers(dest="command", required=True)
    register(commands)
    args = root.parse_args(["conformance", "http://127.0.0.1:9", "--timeout", "2"])
    assert args.url == "http://127.0.0.1:9"
    assert args.timeout == 2.0
    assert callable(args.run)
    assert (args.write, args.disposable) == (False, False)
    own = root.parse_args(["conformance", "--write"])  # no URL: a server of its own
    assert (own.url, own.write) == (None, True)


def test_nothing_listening_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.server import free_port
    from tvms.conformance import main

    assert main([f"http://127.0.0.1:{free_port()}", "--timeout", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  vector  call, params by name" in out
    assert "ConnectError" in out


def test_the_http_client_logs_no_line_per_request() -> None:
    import logging

    from tests.server import free_port
    from tvms.conformance import main

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # as `tvms` sets it up: INFO unless TVMS_LOG_LEVEL says otherwise
    try:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        main([f"http://127.0.0.1:{free_port()}", "--timeout", "2"])
        for name in ("httpx", "httpcore"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        root.setLevel(level)


def test_examples_needing_credentials_are_skipped_without_them() -> None:
    seen: list[Any] = []
    methods = [{**METHOD, "x-auth": "roles:ADMIN", "examples": [example("admin", 1, 1, 2)]}]
    with server(methods, seen) as client:
        skipped = run_examples(client, "http://fake")
        ran = run_examples(client, "http://fake", {"authorization": "Bearer t"})
    assert [(r.passed, r.skipped) for r in skipped] == [(True, True)]
    assert "roles:ADMIN" in skipped[0].detail
    assert [(r.passed, r.skipped) for r in ran] == [(True, False)]
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("example_value", "actual", "problem", "variations"),
    [
        ({"a": 1, "b": "x"}, {"a": 1, "b": "x", "c": None}, None, []),
        (
            {"uptime": 12.5, "engine": "sqlite"},
            {"uptime": 3.2, "engine": "postgresql"},
            None,
            ["$.uptime", "$.engine"],
        ),
        ([{"k": "a"}], [{"k": "a"}, {"k": "b"}], None, []),
        ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 5, 9]}}, None, ["$.a.b[1]"]),
        ({"a": 1}, {"a": "1"}, "$.a: string, the example has number", []),
        ({"a": 1, "b": 2}, {"a": 1}, "$.b: missing", []),
        ({"valid": True}, {"valid": False}, "$.valid: False", []),
        ({"expiresAt": None}, {"expiresAt": "2030-01-01"}, "$.expiresAt: string", []),
        ([1, 2], [1], "$: 1 items, the example shows 2", []),
        ({"a": 1}, None, "$: null, the example has object", []),
    ],
)
def test_compare_with_an_example(
    example_value: Any, actual: Any, problem: str | None, variations: list[str]
) -> None:
    from tvms.conformance.examples import compare

    problems, varied = compare(example_value, actual)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
    assert varied == variations
