"""Idle long polls: do 200 devices waiting in `devices.pollCommands` slow a normal call?

One real `tvms serve` (one worker, SQLite in a temporary directory) with 201 registered devices.
Rounds alternate: a normal call measured sequentially with no poll waiting, then the same with
200 devices long-polling (25 s waits, re-polling at once when one ends). Two normal calls:
`system.getLicense` (no database) and `sensors.heartbeat` (a device's write). Reported: median
and p99 latency per side (median over the rounds), the difference, and the server's CPU share
while the 200 polls only wait.

    .venv/bin/python bench/longpoll_bench.py          # BENCH_ROUNDS=3 BENCH_CALLS=300 by default
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from procedures.sensors.keys import hash_key, new_key
from tvms.config import Config
from tvms.db import open_database
from tvms.db.migrate import run_migrations
from tvms.ids import new_id

ROOT = Path(__file__).resolve().parents[1]
POLLERS = 200
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CALLS = int(os.environ.get("BENCH_CALLS", "300"))
LICENSE = {"jsonrpc": "2.0", "id": 1, "method": "system.getLicense"}
HEARTBEAT = {"jsonrpc": "2.0", "id": 1, "method": "sensors.heartbeat", "params": {"status": "ONLINE"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def register(database_url: str, count: int) -> list[str]:
    db = await open_database(database_url)
    keys = []
    try:
        for n in range(count):
            key, prefix = new_key()
            await db.execute(
                "INSERT INTO sensors (id, name, device_id, type, status, created_at, updated_at)"
                " VALUES (:id, :id, :id, 'EDGE_CONTROLLER', 'ONLINE', 0, 0)",
                {"id": f"bench-gw-{n}"},
            )
            await db.execute(
                "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at)"
                " VALUES (:id, :sensor, :prefix, :hash, 0)",
                {"id": new_id(), "sensor": f"bench-gw-{n}", "prefix": prefix, "hash": hash_key(key)},
            )
            keys.append(key)
    finally:
        await db.close()
    return keys


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latencies(url: str, body: dict[str, object], headers: dict[str, str]) -> list[float]:
    async with httpx.AsyncClient(timeout=30) as http:
        await http.post(url, json=body, headers=headers)  # warm the connection
        out = []
        for _ in range(CALLS):
            start = time.perf_counter()
            response = await http.post(url, json=body, headers=headers)
            out.append((time.perf_counter() - start) * 1000)
            if "result" not in response.json():
                raise RuntimeError(response.text)
        return out


async def poller(http: httpx.AsyncClient, url: str, key: str, stop: asyncio.Event) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "devices.pollCommands", "params": {"waitS": 25}}
    while not stop.is_set():
        await http.post(url, json=body, headers={"x-api-key": key})


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def measure(url: str, pid: int, keys: list[str]) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {}
    normal_key = {"x-api-key": keys[-1]}
    for _ in range(ROUNDS):
        for name, body, headers in (("getLicense", LICENSE, {}), ("heartbeat", HEARTBEAT, normal_key)):
            quiet = await latencies(url, body, headers)
            stop = asyncio.Event()
            limits = httpx.Limits(max_connections=POLLERS + 10)
            async with httpx.AsyncClient(timeout=60, limits=limits) as http:
                tasks = [asyncio.create_task(poller(http, url, key, stop)) for key in keys[:POLLERS]]
                await asyncio.sleep(3)  # every poll is waiting now
                before, started = cpu_seconds(pid), time.monotonic()
                await asyncio.sleep(5)
                idle_cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started)
                busy = await latencies(url, body, headers)
                stop.set()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            results.setdefault(f"{name} quiet", []).append((statistics.median(quiet), p99(quiet)))
            results.setdefault(f"{name} 200 polls", []).append((statistics.median(busy), p99(busy)))
            results.setdefault("server CPU share, 200 idle polls", []).append((idle_cpu * 100, 0.0))
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        database_url = f"sqlite:///{data / 'tvms.db'}"
        asyncio.run(run_migrations(Config(data_dir=data, database_url=database_url)))
        keys = asyncio.run(register(database_url, POLLERS + 1))
        port = free_port()
        env = {
            **os.environ,
            "TVMS_DATA_DIR": str(data),
            "TVMS_DATABASE_URL": database_url,
            "TVMS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "tvms", "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}/rpc"
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            results = asyncio.run(measure(url, server.pid, keys))
        finally:
            server.terminate()
            server.wait()
    print(f"{POLLERS} idle long polls, {ROUNDS} rounds of {CALLS} sequential calls (median of rounds)")
    print(f"{'':36} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds)
        tail = statistics.median(r[1] for r in rounds)
        unit = "%" if "CPU" in name else ""
        print(f"{name:36} {p50:8.2f}{unit} {'' if unit else f'{tail:8.2f}'}")


if __name__ == "__main__":
    main()
