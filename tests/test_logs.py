from __future__ import annotations

import io
import json
import logging

import anyio
import anyio.lowlevel

from tvms.logs import AccessLog, JsonFormatter


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
