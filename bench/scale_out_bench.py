"""Throughput of 1 vs 3 `tvms serve` replicas behind HAProxy (deploy/haproxy.cfg), on PostgreSQL.

Three replicas share one PostgreSQL database (a fresh one on the server named by
TVMS_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test) and one storage
directory. Two HAProxy instances run the shipped configuration: one sends everything to replica 1,
the other balances over all three. wrk (-t2 -c64) alternates between them, rounds interleaved,
medians reported, so drift on a shared machine hits both sides alike. On a machine with fewer
cores than replicas + wrk + HAProxy, the ratio measures CPU sharing, not the design: say so
next to the figures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from run import ROOT, free_port, lua

from tvms.db.testing import drop_database, fresh_database_url

DURATION = 5
ROUNDS = 3
CONNECTIONS = 64
SECRET = "bench-secret-key-0123456789abcdef0123"
CALLS = {
    "system.getLicense (no database)": b'{"jsonrpc":"2.0","method":"system.getLicense","id":1}',
    "sensors.getAll (PostgreSQL read)": (
        b'{"jsonrpc":"2.0","method":"sensors.getAll","params":{"take":10},"id":1}'
    ),
}


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def haproxy(replicas: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port, stats = free_port(), free_port()
    env = {
        **os.environ,
        "TVMS_LB_BIND": f"127.0.0.1:{port}",
        "TVMS_LB_STATS_BIND": f"127.0.0.1:{stats}",
        **{f"TVMS_REPLICA_{n}": address for n, address in enumerate(replicas, start=1)},
    }
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def wrk_rps(url: str, script: Path) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out:  # a read error as wrk closes its connections at the end is not one
        raise RuntimeError(f"wrk saw errors:\n{out}")
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


def main() -> None:
    server = os.environ.get("TVMS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if not shutil.which("haproxy") or not shutil.which("wrk"):
        sys.exit("needs haproxy and wrk")
    url = asyncio.run(fresh_database_url(server))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as work:
            directory = Path(work)
            env = {
                **os.environ,
                "TVMS_DATABASE_URL": url,
                "TVMS_SECRET_KEY": SECRET,
                "TVMS_DATA_DIR": str(directory / "data"),
                "TVMS_LOG_LEVEL": "WARNING",
            }
            subprocess.run(
                [sys.executable, "-m", "tvms", "migrate"], check=True, env=env, capture_output=True
            )
            addresses = []
            for _ in range(3):
                port = free_port()
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tvms", "serve", "--port", str(port)],
                        env=env,
                        stderr=subprocess.DEVNULL,
                    )
                )
                addresses.append(f"127.0.0.1:{port}")
            for address in addresses:
                wait_ready(f"http://{address}/readyz")
            one, one_url = haproxy([addresses[0]] * 3, directory / "one.log")
            three, three_url = haproxy(addresses, directory / "three.log")
            processes += [one, three]
            time.sleep(3)  # health checks mark the servers UP
            results: dict[tuple[str, str], list[float]] = {}
            for name, body in CALLS.items():
                script = directory / "call.lua"
                script.write_text(lua("/rpc", body))
                for _ in range(ROUNDS):
                    for label, base in (("1 replica", one_url), ("3 replicas", three_url)):
                        results.setdefault((name, label), []).append(wrk_rps(base, script))
            print(f"wrk -t2 -c{CONNECTIONS} -d{DURATION}s via HAProxy, median of {ROUNDS} interleaved rounds")
            print(f"{os.cpu_count()} CPU(s), load average before: {os.getloadavg()[0]:.1f}\n")
            print("| call | 1 replica req/s | 3 replicas req/s | ratio |")
            print("|---|---|---|---|")
            for name in CALLS:
                single = statistics.median(results[(name, "1 replica")])
                triple = statistics.median(results[(name, "3 replicas")])
                print(f"| {name} | {single:,.0f} | {triple:,.0f} | {triple / single:.2f}x |")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        asyncio.run(drop_database(url))


if __name__ == "__main__":
    main()
