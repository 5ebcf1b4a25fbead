"""`make bench`: TVMS side by side with tRPC v11 on Hono (Node), every figure from one run.

The reference (bench/reference: tRPC v11, Hono, @hono/node-server, better-sqlite3 12, zod)
serves the same `system.getLicense` and `sensors.getAll` (a page of 10 of 10,000 sensors) from
the same SQLite file. `wrk -t1 -c32` on the same machine; each TVMS run sits between two runs
of the reference on the same case, and its ratio is its calls/s over their mean, so the
machine's swings hit both sides alike. Cases:
- `system.getLicense`, one call per request (TVMS `POST /rpc`; tRPC `GET /trpc/…`);
- `sensors.getAll`, default page of 10 over 10,000 sensors;
- batches of 10 and 50 `system.getLicense` calls (tRPC's `?batch=1`), in calls/s;
- TVMS's own `/trpc` adapter against its `/rpc` (the same calls, runs interleaved the same way)
  on the single call and the batch of 10: the adapter's cost;
- one process each, then `tvms serve --workers 2` against the reference on Node's cluster of 2;
- the ceilings for context: a bare Starlette route on uvicorn, a bare `node:http` server.

BENCH_SECONDS (default 5) per wrk run, BENCH_ROUNDS (default 1) rounds, medians over rounds.
Needs wrk and Node 20 (npm ci runs here when bench/reference/node_modules is missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "bench" / "reference"
DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Request:
    """One HTTP request wrk repeats, and how many calls it carries."""

    method: str
    path: str
    body: bytes = b""
    calls: int = 1

    def lua(self) -> str:
        lines = [f'wrk.method = "{self.method}"', f'wrk.path = "{self.path}"']
        if self.body:
            escaped = self.body.decode().replace("\\", "\\\\").replace('"', '\\"')
            lines += [f'wrk.body = "{escaped}"', 'wrk.headers["Content-Type"] = "application/json"']
        return "\n".join(lines) + "\n"


def rpc(method: str, params: dict[str, object] | None = None, n: int = 1) -> Request:
    calls = [
        {"jsonrpc": "2.0", "method": method, "id": i, **({"params": params} if params is not None else {})}
        for i in range(n)
    ]
    return Request("POST", "/rpc", msgspec.json.encode(calls[0] if n == 1 else calls), n)


def trpc(procedure: str, input: str | None = None, n: int = 1) -> Request:
    if n == 1:
        query = "" if input is None else "?input=" + quote(input)
        return Request("GET", f"/trpc/{procedure}{query}")
    return Request("GET", f"/trpc/{','.join([procedure] * n)}?batch=1&input=" + quote("{}"), calls=n)


def verify(base: str, request: Request) -> None:
    """One request of a case before it is measured: HTTP 200 and no error in the answer (a
    JSON-RPC `error` member, a tRPC answer's `error` key), or the run stops: a figure of
    refusals (say, TOO_MANY_REQUESTS inside HTTP 200) must not pass for one of calls."""
    headers = {"content-type": "application/json"} if request.body else {}
    response = httpx.request(request.method, base + request.path, content=request.body, headers=headers)
    answer = response.json() if response.status_code == 200 else None
    items = answer if isinstance(answer, list) else [answer]
    if response.status_code != 200 or any(not isinstance(item, dict) or "error" in item for item in items):
        where = f"{request.method} {base}{request.path}"
        raise RuntimeError(f"bench: {where} answered {response.status_code}: {response.text[:500]}")
    if len(items) != request.calls:
        raise RuntimeError(f"bench: {base}{request.path} answered {len(items)} calls, not {request.calls}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    """wrk's latency (`812.00us`, `1.20ms`, `2.00s`, `1.00m`) in ms."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise RuntimeError(f"unexpected latency from wrk: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


@dataclass
class Run:
    calls: float  # calls per second
    p99: float  # ms per request


def wrk(base: str, request: Request, scripts: Path, seconds: int = DURATION) -> Run:
    script = scripts / f"{abs(hash((request.method, request.path, request.body)))}.lua"
    script.write_text(request.lua())
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            base,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {base}{request.path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The latency distribution's own line: "99%" can also end a stdev column ("69.99%").
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return Run(rps * request.calls, p99)


def lua(path: str, body: bytes) -> str:
    """A wrk script POSTing `body` to `path` as JSON (also used by bench/sensors_bench.py)."""
    return Request("POST", path, body).lua()


def wait_up(client: httpx.Client, base: str) -> None:
    """Until GET {base}/healthz answers 200 (also used by bench/sensors_bench.py)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def started(args: list[str], probe: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A server process; yields its base URL once `probe` answers; SIGTERM at the end."""
    port = free_port()
    args = [part.replace("{port}", str(port)) for part in args]
    process = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + probe, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def npm_ci() -> None:
    if (REFERENCE / "node_modules" / "better-sqlite3" / "build" / "Release").is_dir():
        return
    env = dict(os.environ)
    if Path("/usr/include/node/node.h").is_file():  # Debian's Node: build against its headers
        env.setdefault("npm_config_nodedir", "/usr")
    print("bench: npm ci in bench/reference (builds better-sqlite3 once; a few minutes)", file=sys.stderr)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=REFERENCE, env=env, check=True)


def tvms(workers: int) -> list[str]:
    return [sys.executable, "-m", "tvms", "serve", "--port", "{port}", "--workers", str(workers)]


def node(workers: int, database: Path) -> list[str]:
    return [
        "node",
        str(REFERENCE / "server.mjs"),
        "--port",
        "{port}",
        "--db",
        str(database),
        "--workers",
        str(workers),
    ]


CASES = [
    ("system.getLicense", rpc("system.getLicense"), trpc("system.getLicense")),
    ("sensors.getAll (10 of 10,000)", rpc("sensors.getAll", {}), trpc("sensors.getAll", "{}")),
    ("batch of 10", rpc("system.getLicense", n=10), trpc("system.getLicense", n=10)),
    ("batch of 50", rpc("system.getLicense", n=50), trpc("system.getLicense", n=50)),
]
ADAPTER = [  # TVMS's /trpc against its own /rpc, same server, same calls
    ("system.getLicense", trpc("system.getLicense"), rpc("system.getLicense")),
    ("batch of 10", trpc("system.getLicense", n=10), rpc("system.getLicense", n=10)),
]
TARGETS = {
    "system.getLicense": 1.5,
    "sensors.getAll (10 of 10,000)": 2.0,
    "batch of 10": 2.5,
    "batch of 50": 3.0,
}


@dataclass
class Row:
    name: str
    tvms: list[Run]
    reference: list[Run]
    ratios: list[float]


def side_by_side(
    ours: str, theirs: str, cases: list[tuple[str, Request, Request]], scripts: Path
) -> list[Row]:
    rows = [Row(name, [], [], []) for name, _, _ in cases]
    for _, mine, reference in cases:
        verify(theirs, reference)
        verify(ours, mine)
    for _, mine, reference in cases:  # warm-up: JITs, caches, connection pools
        wrk(theirs, reference, scripts, 1)
        wrk(ours, mine, scripts, 1)
    for _ in range(ROUNDS):
        for row, (_, mine, reference) in zip(rows, cases, strict=True):
            before = wrk(theirs, reference, scripts)
            run = wrk(ours, mine, scripts)
            after = wrk(theirs, reference, scripts)
            row.tvms.append(run)
            row.reference += [before, after]
            row.ratios.append(run.calls / ((before.calls + after.calls) / 2))
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n## {title}")
    print("| case | TVMS calls/s | tRPC on Hono calls/s | ratio | target | TVMS p99 ms | Hono p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        target = TARGETS.get(row.name)
        mark = (
            ""
            if target is None
            else (f">= {target}" + (" ok" if statistics.median(row.ratios) >= target else " MISSED"))
        )
        print(
            f"| {row.name} | {statistics.median(r.calls for r in row.tvms):,.0f}"
            f" | {statistics.median(r.calls for r in row.reference):,.0f}"
            f" | **{statistics.median(row.ratios):.2f}x** | {mark}"
            f" | {statistics.median(r.p99 for r in row.tvms):.1f}"
            f" | {statistics.median(r.p99 for r in row.reference):.1f} |"
        )


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.sensors_bench import SENSORS, populate  # its own imports need this module whole

    for tool in ("wrk", "node", "npm"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed")
    npm_ci()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        database = base / "data" / "tvms.db"
        database.parent.mkdir()
        with contextlib.redirect_stdout(io.StringIO()):  # its query plans belong to sensors_bench
            asyncio.run(populate(f"sqlite:///{database}"))
        scripts = base / "lua"
        scripts.mkdir()
        env = {
            "TVMS_DATA_DIR": str(base / "data"),
            "TVMS_DATABASE_URL": f"sqlite:///{database}",
            "TVMS_LOG_LEVEL": os.environ.get("TVMS_LOG_LEVEL", "INFO"),
            "TVMS_SECRET_KEY": secrets.token_urlsafe(48),  # shared by the workers of --workers 2
            # One client sends every call anonymously: the limit on anonymous calls would refuse
            # them after TVMS_RATE_LIMIT a minute; the bench measures throughput, not that limit.
            "TVMS_RATE_LIMIT": "0",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        with (
            started(tvms(1), "/healthz", env) as ours,
            started(node(1, database), "/bare") as theirs,
        ):
            license_bytes = httpx.post(
                ours + "/rpc", json={"jsonrpc": "2.0", "method": "system.getLicense", "id": 1}
            ).content
            assert (
                httpx.get(theirs + "/trpc/sensors.getAll?input=%7B%7D").json()["result"]["data"]["total"]
                == SENSORS
            )
            assert (
                httpx.post(
                    ours + "/rpc", json={"jsonrpc": "2.0", "method": "sensors.getAll", "id": 1}
                ).json()["result"]["total"]
                == SENSORS
            )
            single = side_by_side(ours, theirs, CASES, scripts)
            adapter = side_by_side(ours, ours, ADAPTER, scripts)
        with (
            started(tvms(2), "/healthz", env) as ours,
            started(node(2, database), "/bare") as theirs,
        ):
            double = side_by_side(ours, theirs, CASES[:4], scripts)
        bare = Request("POST", "/bare", license_bytes)
        with (
            started(
                [sys.executable, str(ROOT / "bench" / "bare_starlette.py"), "{port}", license_bytes.decode()],
                "/bare",
            ) as starlette,
            started(
                ["node", str(REFERENCE / "bare.mjs"), "--port", "{port}", "--body", license_bytes.decode()],
                "/bare",
            ) as plain,
        ):
            ceilings = [
                ("bare Starlette route on uvicorn", wrk(starlette, bare, scripts)),
                ("bare node:http", wrk(plain, bare, scripts)),
            ]
    load = os.getloadavg()[0]
    print(
        f"# make bench: wrk -t1 -c{CONNECTIONS} -d{DURATION}s, {ROUNDS} round(s), {os.cpu_count()} cores,"
        f" load average {load:.1f} at the end"
    )
    print_rows("one process each: tvms serve (uvicorn) vs tRPC v11 on Hono (Node)", single)
    print_rows("two processes each: tvms serve --workers 2 vs Node cluster of 2", double)
    print("\n## ceilings (same bytes as system.getLicense, one process, no framework work)")
    for name, run in ceilings:
        print(f"- {name}: {run.calls:,.0f} req/s, p99 {run.p99:.1f} ms")
    print("\n## the tRPC adapter: TVMS /trpc against TVMS /rpc, same calls, runs interleaved")
    for row in adapter:
        cost = 1 / statistics.median(row.ratios) - 1
        print(
            f"- {row.name}: /trpc {statistics.median(r.calls for r in row.tvms):,.0f} calls/s,"
            f" /rpc {statistics.median(r.calls for r in row.reference):,.0f}: {cost * 100:+.0f}% per call"
            " (target <= +10%)"
        )


if __name__ == "__main__":
    main()
