"""`make bench`: the foundation benchmark, every figure measured in one run.

1. One hypercorn worker (uvloop) serving the real app; wrk (-t1 -c32) on the same machine.
   `system.getLicense` over POST /rpc vs a bare Starlette endpoint returning the same bytes on
   the same server; batches of 10 and 50 (calls/s); p50/p99 latency. Rounds alternate and the
   median of the rounds is reported, so drift on a noisy machine hits both sides alike.
2. In-process dispatch cost per call (no HTTP): a trivial procedure and `system.getLicense`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from procedures import api
from tvms.app import Api, create_app
from tvms.cli import run_migrations
from tvms.config import Config
from tvms.rpc import PUBLIC, Caller, Context, Credentials, Router

ROOT = Path(__file__).resolve().parents[1]
DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(method: str, id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "id": id}


def lua(path: str, body: bytes) -> str:
    escaped = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    return (
        'wrk.method = "POST"\n'
        f'wrk.path = "{path}"\n'
        f'wrk.body = "{escaped}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": p50, "p99": p99}


def http_bench(data: Path) -> dict[str, dict[str, float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TVMS_DATA_DIR": str(data),
        "TVMS_LOG_LEVEL": os.environ.get("TVMS_LOG_LEVEL", "INFO"),
    }
    env.pop("TVMS_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "tvms", "migrate"], check=True, env=env, capture_output=True)
    single = msgspec.json.encode(request("system.getLicense"))
    with httpx.Client() as client:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "server.py"), "--port", str(port)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_up(client, base)
            answer = client.post(f"{base}/rpc", content=single, headers={"content-type": "application/json"})
            bare = client.post(f"{base}/bare", content=single).content
            assert bare == answer.content, "the bare endpoint must return the same bytes"
            scripts = {
                "bare": ("/bare", single),
                "rpc": ("/rpc", single),
                "batch10": (
                    "/rpc",
                    msgspec.json.encode([request("system.getLicense", i) for i in range(10)]),
                ),
                "batch50": (
                    "/rpc",
                    msgspec.json.encode([request("system.getLicense", i) for i in range(50)]),
                ),
            }
            paths = {}
            for name, (path, body) in scripts.items():
                paths[name] = data / f"{name}.lua"
                paths[name].write_text(lua(path, body))
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in scripts}
            for name in scripts:  # warm-up
                wrk_short(base, paths[name])
            for _ in range(ROUNDS):
                for name in scripts:
                    runs[name].append(wrk(base, paths[name]))
        finally:
            server.terminate()
            server.wait()
    return {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }


def wrk_short(base: str, script: Path) -> None:
    subprocess.run(["wrk", "-t1", "-c8", "-d1s", "-s", str(script), base], check=True, capture_output=True)


def wait_up(client: httpx.Client, base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if client.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("bench server did not start")


async def dispatch_bench(data: Path) -> dict[str, float]:
    config = Config(data_dir=data)
    await run_migrations(config)
    the_api: Api = api()
    app = create_app(config, dataclasses.replace(the_api, routers=[*the_api.routers, trivial]))
    results = {}
    async with app.router.lifespan_context(app):
        dispatcher = app.state.dispatcher
        for method in ("bench.ping", "system.getLicense"):
            body = msgspec.json.encode(request(method))
            n = 100_000
            for _ in range(1000):
                await dispatcher.handle(body, Caller(Credentials()), "bench")
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(n):
                    await dispatcher.handle(body, Caller(Credentials()), "bench")
                best = min(best, (time.perf_counter() - started) / n * 1e6)
            results[method] = best
    return results


trivial = Router("bench")


@trivial.query("ping", auth=PUBLIC)
async def ping(ctx: Context) -> int:
    """Returns 1: the cheapest possible procedure, to measure the dispatcher alone."""
    return 1


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        dispatch = asyncio.run(dispatch_bench(data / "inproc"))
        http = http_bench(data / "http")
    bare, rpc, b10, b50 = http["bare"], http["rpc"], http["batch10"], http["batch50"]
    print(
        f"# foundation bench: 1 hypercorn worker (uvloop), wrk -t1 -c{CONNECTIONS} -d{DURATION}s,"
        f" median of {ROUNDS} alternating rounds, log level {os.environ.get('TVMS_LOG_LEVEL', 'INFO')}"
    )
    print("| measurement | req/s | calls/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    print(
        f"| bare Starlette endpoint, same bytes | {bare['rps']:,.0f} | {bare['rps']:,.0f} |"
        f" {bare['p50']:.2f} | {bare['p99']:.2f} |"
    )
    print(
        f"| system.getLicense over POST /rpc | {rpc['rps']:,.0f} | {rpc['rps']:,.0f} |"
        f" {rpc['p50']:.2f} | {rpc['p99']:.2f} |"
    )
    print(
        f"| batch of 10 | {b10['rps']:,.0f} | {b10['rps'] * 10:,.0f} | {b10['p50']:.2f} | {b10['p99']:.2f} |"
    )
    print(
        f"| batch of 50 | {b50['rps']:,.0f} | {b50['rps'] * 50:,.0f} | {b50['p50']:.2f} | {b50['p99']:.2f} |"
    )
    print()
    print(f"single call / bare endpoint: {rpc['rps'] / bare['rps']:.2f} (target >= 0.85)")
    print(f"batch of 50 calls/s / single calls/s: {b50['rps'] * 50 / rpc['rps']:.1f} (target >= 20)")
    for method, micros in dispatch.items():
        print(f"in-process dispatch, {method}: {micros:.2f} us per call (target <= 5 for a trivial call)")


if __name__ == "__main__":
    main()
