from __future__ import annotations

import io
import json
import logging

import anyio
import anyio.lowlevel

from tvms.logs import AccessLog, JsonFormatter, RepeatFilter


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_access_lines_of_one_loop_turn_are_one_write() -> None:
    stream = CountingStream()
    access = AccessLog(stream)
    for n in range(50):
        access.write("r1", "system.getLicense", "query", "OK", float(n), None)
    assert stream.writes == 0  # nothing yet: written when the loop gets control back
    await anyio.lowlevel.checkpoint()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert stream.writes == 1 and len(lines) == 50
    assert [line["ms"] for line in lines] == list(range(50))
    first = lines[0]
    assert (first["level"], first["logger"], first["msg"], first["requestId"]) == (
        "info",
        "tvms.access",
        "call",
        "r1",
    )
    assert first["ts"].endswith("+00:00") and len(first["ts"]) == len("2026-11-27T08:00:01.123+00:00")


def test_access_lines_follow_the_log_level() -> None:
    logger = logging.getLogger("tvms.access")
    before = logger.level
    try:
        logger.setLevel(logging.WARNING)
        assert not AccessLog().enabled()
        logger.setLevel(logging.INFO)
        assert AccessLog().enabled()
    finally:
        logger.setLevel(before)


def test_formatter_writes_one_json_object_with_fields() -> None:
    record = logging.LogRecord("tvms.rpc", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    record.fields = {"requestId": "r2"}
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "boom x" and line["level"] == "error" and line["requestId"] == "r2"


def _error(message: str, exc: Exception | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("tvms.reports", logging.ERROR, __file__, 1, message, (), exc_info)


def test_identical_errors_are_written_once_per_window_with_a_count() -> None:
    now = [0.0]
    repeats = RepeatFilter(window_s=60.0, clock=lambda: now[0])
    down = ConnectionRefusedError("connection refused")
    passed = [repeats.filter(_error("polling failed", down)) for _ in range(30)]  # every 2 s for 1 min
    assert passed == [True] + [False] * 29
    assert repeats.filter(_error("polling failed", ConnectionResetError("reset")))  # another failure
    assert repeats.filter(_error("another line", down))
    now[0] = 61.0
    later = _error("polling failed", down)
    assert repeats.filter(later)
    assert later.fields == {"repeated": 29}  # type: ignore[attr-defined]
    assert not repeats.filter(_error("polling failed", down))


def test_info_lines_are_never_held_back() -> None:
    repeats = RepeatFilter(window_s=60.0, clock=lambda: 0.0)
    record = logging.LogRecord("tvms.reports", logging.INFO, __file__, 1, "ready", (), None)
    assert all(repeats.filter(record) for _ in range(5))


def test_the_request_id_is_a_field_and_does_not_defeat_the_rate_limit() -> None:
    repeats = RepeatFilter(window_s=60.0, clock=lambda: 0.0)
    first, second = _error("internal error in x.y"), _error("internal error in x.y")
    first.fields, second.fields = {"requestId": "r1"}, {"requestId": "r2"}  # type: ignore[attr-defined]
    assert repeats.filter(first) and not repeats.filter(second)
    assert json.loads(JsonFormatter().format(first))["requestId"] == "r1"
