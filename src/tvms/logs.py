"""One JSON object per log line, on stderr.

Context travels as fields of the line, never inside the message: pass
`extra={"fields": {"requestId": …}}` (or `jobId`, `sensorId`). Repeated identical warnings and
errors (the database is down: every poll fails the same way) are written once per
`REPEAT_WINDOW_S`; the next one written carries `repeated`, how many were held back.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

import msgspec

_encoder = msgspec.json.Encoder()
_encode = _encoder.encode


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


REPEAT_WINDOW_S = 60.0
_MAX_TRACKED = 1024


class RepeatFilter(logging.Filter):
    """Lets the first of identical WARNING+ lines through per `window_s` seconds; counts the rest.

    Lines are identical when logger, level, message and exception (type and text) are: the
    request id and other fields stay out of the comparison, so they must stay out of the message.
    """

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: OrderedDict[tuple[object, ...], list[float]] = OrderedDict()  # key: [since, held]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        key = (record.name, record.levelno, record.getMessage(), type(exc).__name__, str(exc))
        now = self._clock()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.window_s:
            entry[1] += 1
            return False
        held = int(entry[1]) if entry is not None else 0
        self._seen[key] = [now, 0]
        self._seen.move_to_end(key)
        while len(self._seen) > _MAX_TRACKED:
            self._seen.popitem(last=False)
        if held:
            fields = getattr(record, "fields", None)
            record.fields = {**(fields if isinstance(fields, dict) else {}), "repeated": held}
        return True


def setup_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatFilter())
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

    Lines are collected and encoded and written once per event-loop turn, so many requests
    cost one write instead of one trip each through `logging` (about 10 µs each). Enabled when
    the `tvms.access` logger is enabled for INFO.
    """

    logger = logging.getLogger("tvms.access")

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: list[CallLine | RequestLine] = []
        self._second = -1
        self._prefix = ""
        self._millis = -1
        self._stamp = ""

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(
        self, request_id: str, procedure: str, kind: str, outcome: str, ms: float, principal: str | None
    ) -> None:
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(CallLine(self._timestamp(), request_id, procedure, kind, outcome, ms, principal))

    def request(self, request_id: str, calls: list[tuple[str, str, str, float, str | None]]) -> None:
        """The one line of a request: the call's own line, or a summary of several calls.

        `calls` holds (procedure, kind, outcome, seconds, principal id) per call.
        """
        if len(calls) == 1:
            procedure, kind, outcome, seconds, principal = calls[0]
            self.write(request_id, procedure, kind, outcome, _ms(seconds), principal)
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
        line = RequestLine(self._timestamp(), request_id, len(calls), procedures, outcomes, _ms(total), who)
        self._lines.append(line)

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            stream = self._stream or sys.stderr
            stream.write(_encoder.encode_lines(lines).decode())
            stream.flush()

    def _timestamp(self) -> str:
        millis = int(time.time() * 1000)
        if millis != self._millis:  # many lines share a millisecond under load
            self._millis = millis
            second, fraction = divmod(millis, 1000)
            if second != self._second:  # formatting a date costs more than the rest of the line
                self._second = second
                self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._stamp = f"{self._prefix}.{fraction:03d}+00:00"
        return self._stamp


def _ms(seconds: float) -> float:
    """Milliseconds to 3 decimals (what `round(…, 3)` gives, but halves round up: cheaper)."""
    return int(seconds * 1_000_000 + 0.5) / 1000
