"""One JSON object per log line, on stderr."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

import msgspec

_encode = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line).decode()


def setup_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class CallLine(msgspec.Struct, rename="camel"):
    """One access-log line (the JSON shape of every other line, plus the call's fields)."""

    ts: str
    request_id: str
    procedure: str
    kind: str
    outcome: str
    ms: float
    principal: str | None
    level: str = "info"
    logger: str = "tvms.access"
    msg: str = "call"


class RequestLine(msgspec.Struct, rename="camel"):
    """The access-log line of a request that ran several calls (a batch): a summary."""

    ts: str
    request_id: str
    calls: int
    procedures: dict[str, int]
    outcomes: dict[str, int]
    ms: float
    principal: str | None
    level: str = "info"
    logger: str = "tvms.access"
    msg: str = "calls"


class AccessLog:
    """The access lines: one per HTTP request (a batch's line summarises its calls).

    Lines are collected and written once per event-loop turn, so many requests cost one write
    instead of one trip each through `logging` (about 10 µs each). Enabled when the
    `tvms.access` logger is enabled for INFO.
    """

    logger = logging.getLogger("tvms.access")

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: list[bytes] = []
        self._second = -1
        self._prefix = ""

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(
        self, request_id: str, procedure: str, kind: str, outcome: str, ms: float, principal: str | None
    ) -> None:
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        line = CallLine(self._timestamp(), request_id, procedure, kind, outcome, ms, principal)
        self._lines.append(_encode(line))

    def request(self, request_id: str, calls: list[tuple[str, str, str, float, str | None]]) -> None:
        """The one line of a request: the call's own line, or a summary of several calls.

        `calls` holds (procedure, kind, outcome, seconds, principal id) per call.
        """
        if len(calls) == 1:
            procedure, kind, outcome, seconds, principal = calls[0]
            self.write(request_id, procedure, kind, outcome, round(seconds * 1000, 3), principal)
            return
        procedures: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        total = 0.0
        who = None
        for procedure, _, outcome, seconds, principal in calls:
            procedures[procedure] = procedures.get(procedure, 0) + 1
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            total += seconds
            who = who or principal
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        line = RequestLine(
            self._timestamp(), request_id, len(calls), procedures, outcomes, round(total * 1000, 3), who
        )
        self._lines.append(_encode(line))

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            stream = self._stream or sys.stderr
            stream.write(b"\n".join(lines).decode() + "\n")
            stream.flush()

    def _timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # formatting a date costs more than the rest of the line
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int(now * 1000) % 1000:03d}+00:00"
