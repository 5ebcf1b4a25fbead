"""In-process cost per call, no HTTP server: the whole ASGI app (request id, CORS, the guard,
routing, the endpoint, dispatch, metrics, the access log at INFO written to a null stream).

1. Batches of 1, 10 and 50 trivial calls (`bench.ping`) over POST /rpc: µs per call
   (target: a batch of 50 at most 4 µs per call).
2. The tRPC adapter against `/rpc` for the same calls (`system.getLicense`, one call and a
   batch of 10): µs per request and the adapter's extra cost (target: at most 10%).

Each figure is the best of 15 runs of N requests (the best run is the one the machine's other
load disturbed least). Run: `PYTHONPATH=src:. .venv/bin/python bench/dispatch_bench.py`.
With `--instructions` (needs valgrind; a few minutes): instructions per request under callgrind
for `system.getLicense` and a batch of 10 over `/rpc` and `/trpc`, which other load on the
machine does not move.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import re
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

from procedures import api
from tvms.app import Api, create_app
from tvms.config import Config
from tvms.db.migrate import run_migrations
from tvms.logs import setup_logging
from tvms.rpc import PUBLIC, Context, Router

RUNS = 15
trivial = Router("bench")


@trivial.query("ping", auth=PUBLIC)
async def ping(ctx: Context) -> int:
    """Returns 1: the cheapest possible procedure, to measure the dispatcher alone."""
    return 1


Receive = Callable[[], Awaitable[dict[str, Any]]]
ASGI = Callable[[dict[str, Any], Receive, Callable[[Any], Awaitable[None]]], Any]


class Null(io.TextIOBase):
    """Where the access log goes during the runs: the lines are made, then dropped."""

    def write(self, text: str) -> int:
        return len(text)


def request(method: str, id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "id": id}


def scope(method: str, path: str, query: bytes = b"", body: bool = False) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench")]
    if body:
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def run_requests(app: ASGI, template: dict[str, Any], body: bytes, n: int) -> float:
    """µs per request for n requests, each through the whole app."""
    message = {"type": "http.request", "body": body, "more_body": False}
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            status.append(event["status"])

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(template), receive, send)
    elapsed = (time.perf_counter() - started) / n * 1e6
    if set(status) - {200}:
        raise RuntimeError(f"unexpected statuses {set(status)}")
    return elapsed


async def check(app: ASGI, template: dict[str, Any], body: bytes) -> None:
    """One request of the case, before it is measured: HTTP 200 and no error in the answer (a
    JSON-RPC `error` member, or a tRPC answer's `error` key), else the figures would be of errors."""
    message = {"type": "http.request", "body": body, "more_body": False}
    events: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        events.append(event)

    await app(dict(template), receive, send)
    status = events[0]["status"]
    answer = msgspec.json.decode(b"".join(event.get("body", b"") for event in events[1:]))
    items = answer if isinstance(answer, list) else [answer]
    if status != 200 or any("error" in item for item in items):
        raise RuntimeError(f"{template['method']} {template['path']}: HTTP {status}, {answer}")


async def best(app: ASGI, template: dict[str, Any], body: bytes, n: int) -> float:
    await check(app, template, body)
    await run_requests(app, template, body, n // 10)  # warm-up
    return min([await run_requests(app, template, body, n) for _ in range(RUNS)])


async def best_pair(
    app: ASGI, a: tuple[dict[str, Any], bytes], b: tuple[dict[str, Any], bytes], n: int
) -> tuple[float, float]:
    """Best of RUNS for each of two cases, their runs alternating (A B A B ...), so that the
    machine's swings hit both alike."""
    await check(app, *a)
    await check(app, *b)
    await run_requests(app, *a, n // 10)
    await run_requests(app, *b, n // 10)
    first, second = [], []
    for _ in range(RUNS):
        first.append(await run_requests(app, *a, n))
        second.append(await run_requests(app, *b, n))
    return min(first), min(second)


@asynccontextmanager
async def bench_app() -> AsyncIterator[ASGI]:
    """The real API plus `bench.ping`, started, on a fresh SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        # Every call is anonymous: the limit on anonymous calls would refuse most of them (as
        # `make bench` runs the server, with TVMS_RATE_LIMIT=0).
        config = Config(data_dir=Path(tmp), rate_limit=0)
        await run_migrations(config)
        the_api: Api = api()
        app = create_app(config, dataclasses.replace(the_api, routers=[*the_api.routers, trivial]))
        async with app.router.lifespan_context(app):
            yield app


def cases() -> dict[str, tuple[dict[str, Any], bytes, int]]:
    """The cases counted in instructions: (scope, body, requests to run)."""
    rpc = scope("POST", "/rpc", body=True)
    names = ",".join(["system.getLicense"] * 10)
    return {
        "POST /rpc, system.getLicense": (rpc, msgspec.json.encode(request("system.getLicense")), 1000),
        "POST /rpc, batch of 10": (
            rpc,
            msgspec.json.encode([request("system.getLicense", i) for i in range(10)]),
            300,
        ),
        "GET /trpc, system.getLicense": (scope("GET", "/trpc/system.getLicense"), b"", 1000),
        "GET /trpc, batch of 10": (
            scope("GET", f"/trpc/{names}", query=b"batch=1&input=" + quote("{}").encode()),
            b"",
            300,
        ),
    }


async def counted(name: str) -> None:
    """Run one case between two markers that callgrind is told to zero and dump at."""
    setup_logging(logging.INFO)
    sys.stderr = Null()
    template, body, n = cases()[name]
    async with bench_app() as app:
        await check(app, template, body)
        await run_requests(app, template, body, 300)  # warm-up
        zlib.crc32(b"")  # callgrind --zero-before=crc32
        await run_requests(app, template, body, n)
        await asyncio.sleep(0)  # the access log writes the lines of these requests here
        zlib.adler32(b"")  # callgrind --dump-before=adler32


def instructions() -> None:
    """Instructions per request under callgrind: robust where timings are not (a shared machine)."""
    print("| case | instructions per request |")
    print("|---|---|")
    for name, (_, _, n) in cases().items():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--zero-before=crc32",
                    "--dump-before=adler32",
                    f"--callgrind-out-file={out}",
                    sys.executable,
                    __file__,
                    "--count",
                    name,
                ],
                check=True,
                capture_output=True,
            )
            dump = Path(f"{out}.1").read_text()
            total = int(re.search(r"^summary: (\d+)", dump, re.MULTILINE).group(1))  # type: ignore[union-attr]
            print(f"| {name} | {total / n:,.0f} |")


async def main() -> None:
    setup_logging(logging.INFO)
    sys.stderr = Null()
    async with bench_app() as app:
        rpc = scope("POST", "/rpc", body=True)
        rows = []
        for size in (1, 10, 50):
            calls = [request("bench.ping", i) for i in range(size)]
            body = msgspec.json.encode(calls[0] if size == 1 else calls)
            micros = await best(app, rpc, body, 20_000 // size)
            rows.append((size, micros))
        license_one = msgspec.json.encode(request("system.getLicense"))
        license_ten = msgspec.json.encode([request("system.getLicense", i) for i in range(10)])
        trpc_one = scope("GET", "/trpc/system.getLicense")
        names = ",".join(["system.getLicense"] * 10)
        trpc_ten = scope("GET", f"/trpc/{names}", query=b"batch=1&input=" + quote("{}").encode())
        pairs = [
            (
                "system.getLicense, 1 call",
                *await best_pair(app, (rpc, license_one), (trpc_one, b""), 5_000),
            ),
            (
                "system.getLicense, batch of 10",
                *await best_pair(app, (rpc, license_ten), (trpc_ten, b""), 1_000),
            ),
        ]
    sys.stderr = sys.__stderr__
    print(f"# in-process, whole ASGI app, access log at INFO (to a null stream), best of {RUNS} runs")
    print("| POST /rpc, bench.ping | µs per request | µs per call |")
    print("|---|---|---|")
    for size, micros in rows:
        print(f"| batch of {size} | {micros:.1f} | {micros / size:.2f} |")
    print()
    print("| same calls | /rpc µs per request | /trpc µs per request | /trpc over /rpc |")
    print("|---|---|---|---|")
    for name, rpc_us, trpc_us in pairs:
        print(f"| {name} | {rpc_us:.1f} | {trpc_us:.1f} | {(trpc_us / rpc_us - 1) * 100:+.0f}% |")
    print()
    print(f"batch of 50: {rows[-1][1] / 50:.2f} µs per call (target <= 4)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--instructions"]:
        instructions()
    elif sys.argv[1:2] == ["--count"]:
        asyncio.run(counted(sys.argv[2]))
    else:
        asyncio.run(main())
