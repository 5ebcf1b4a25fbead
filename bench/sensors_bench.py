"""Sensors benchmark: `sensors.getAll` against `system.getLicense` on the same server, same run.

10,000 sensors (and 50 locations) in a fresh SQLite database (or `BENCH_DATABASE_URL`, which must
be an empty database), served by a real `tvms serve` (one hypercorn worker) in a separate process,
wrk -t1 -c32 on the same machine. Rounds alternate between the cases (each warmed up for 1 s,
not counted), and every case's run is compared with the reference runs just before and after it:
the ratio reported is the median over the rounds of its req/s over their mean. Also:
`sensors.getAllSensors` time and size, and the query plans of every list query. First, the same
cases in-process: the whole ASGI app (middleware included) called directly, no HTTP server and no
wrk, best of 20 x 200 calls each: the part of a call's cost that is the app's own, least exposed
to the machine's swings.

    PYTHONPATH=src:. python bench/sensors_bench.py      # BENCH_SECONDS, BENCH_ROUNDS to tune
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.run import CONNECTIONS, DURATION, free_port, lua, wait_up  # noqa: E402

SENSORS = 10_000
NEW_TERM = "<a new 5-digit number on every call>"
# wrk script for NEW_TERM: numbers cycle through 9,500 values.
NEW_TERM_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"jsonrpc":"2.0","method":"sensors.getAll","id":1,"params":{"search":"%05d"}}', counter % 9500)
  return wrk.format("POST", "/rpc", {["Content-Type"] = "application/json"}, body)
end
"""
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REFERENCE_SECONDS = 3
CASES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("system.getLicense (reference)", "system.getLicense", None),
    ("sensors.getAll default page", "sensors.getAll", {}),
    ("sensors.getAll search 'cam-01'", "sensors.getAll", {"search": "cam-01"}),
    # a rare match (the page walks the whole sort index) and a 2-character search (no index)
    ("sensors.getAll search 'anpr 0001'", "sensors.getAll", {"search": "anpr 0001"}),
    ("sensors.getAll search 'ca'", "sensors.getAll", {"search": "ca"}),
    *[
        (f"sensors.getAll sortBy={key}", "sensors.getAll", {"sortBy": key})
        for key in ("name", "type", "status", "createdAt", "lastHeartbeat")
    ],
    # A device number never searched for before on every call (nothing remembered): the cold path.
    ("sensors.getAll search '<new number>'", "sensors.getAll", {"search": NEW_TERM}),
]


async def populate(url: str) -> None:
    from tvms.db import migrate, open_database
    from tvms.db.migrate import schema_text
    from tvms.seeding.demo_city import seed_demo_city

    db = await open_database(url)
    try:
        await migrate(db, schema_text())
        now = int(time.time() * 1000)
        city = await seed_demo_city(db, now)  # ~50 locations, ~500 realistic sensors
        kinds = ["CAMERA", "RADAR", "ANPR", "SPEED_DETECTOR", "NVR"]
        statuses = ["ONLINE", "ONLINE", "ONLINE", "OFFLINE", "ERROR", "MAINTENANCE"]
        rows = [
            {
                "id": f"bench-{n:05d}",
                "name": f"{kinds[n % 5].title()} {n:05d}",
                "device_id": f"{kinds[n % 5][:3]}-{n:05d}",
                "type": kinds[n % 5],
                "status": statuses[n % 6],
                "heard": None if n % 7 == 0 else now - n * 1000,
                "location": f"loc-demo-{n % 50 + 1:03d}",
                "now": now - n,
            }
            for n in range(SENSORS - city.sensors_total)
        ]
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO sensors (id, name, device_id, type, status, location_id, last_heartbeat_at, "
                "heartbeat_timeout_s, created_at, updated_at) "
                "VALUES (:id, :name, :device_id, :type, :status, :location, :heard, 86400, :now, :now)",
                rows,
            )
        if db.engine == "postgresql":
            # What autovacuum does within a minute of a bulk load; without it the planner keeps the
            # empty-table statistics and sorts the whole table for every page.
            await db.execute("ANALYZE")
        print(f"database: {await db.fetchval('SELECT COUNT(*) FROM sensors')} sensors, {db.engine}")
        await plans(db)
    finally:
        await db.close()


async def plans(db: Any) -> None:
    """EXPLAIN (QUERY PLAN) of the statement `sensors.getAll` runs for every case (from
    `list_query`, the function the procedure itself uses), plus page 2 and the count that runs
    alone only when a page past the end comes back empty."""
    from procedures.sensors.reads import list_query
    from procedures.sensors.schemas import SensorListInput

    explain = "EXPLAIN QUERY PLAN " if db.engine == "sqlite" else "EXPLAIN "
    specs = [
        (label, SensorListInput(search=params.get("search"), sort_by=params.get("sortBy", "createdAt")))
        for label, method, params in CASES
        if method == "sensors.getAll" and params is not None and params.get("search") != NEW_TERM
    ]
    specs.append(("sensors.getAll skip=10 (page 2)", SensorListInput(skip=10)))
    for label, spec in specs:
        page, count, bound, _ = list_query(spec, db.engine)
        statements = [("page and total", page)]
        if label.endswith("default page") or "search" in label:
            statements.append(("count alone (empty page past the end only)", count))
        for what, sql in statements:
            print(f"\n-- {label}, {what}:\n-- {' '.join(sql.split())}")
            for row in await db.fetch(explain + sql, bound):
                print("   ", row["detail"] if db.engine == "sqlite" else row[0])


async def in_process(data: Path, url: str) -> dict[str, float]:
    """µs per call of each case (but the never-seen search), through the ASGI app in-process."""
    from tvms.config import Config
    from tvms.server import build_app

    app = build_app(Config(data_dir=data, database_url=url, log_level="WARNING"))
    micros: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        for label, method, params in CASES:
            if params and params.get("search") == NEW_TERM:
                continue
            body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": params or {}}).encode()
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                "scheme": "http", "path": "/rpc", "raw_path": b"/rpc", "query_string": b"", "root_path": "",
                "headers": [(b"host", b"bench"), (b"content-type", b"application/json")],
                "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            }  # fmt: skip
            answers: list[bytes] = []

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any], answers: list[bytes] = answers) -> None:
                if message["type"] == "http.response.body":
                    answers.append(message["body"])

            best = float("inf")
            for _ in range(20):
                started = time.perf_counter()
                for _ in range(200):
                    await app(scope, receive, send)
                best = min(best, (time.perf_counter() - started) / 200 * 1e6)
            if b'"error"' in answers[-1]:
                raise RuntimeError(answers[-1][:300].decode())
            answers.clear()
            micros[label] = best
    return micros


def wrk_rps(url: str, script: Path, seconds: int = DURATION) -> float:
    """Requests per second from one wrk run (errors or non-2xx answers fail the bench)."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


def map_list(base: str) -> tuple[float, int]:
    body = json.dumps({"jsonrpc": "2.0", "method": "sensors.getAllSensors", "id": 1})
    times, size = [], 0
    with httpx.Client(timeout=60) as client:
        for _ in range(7):
            started = time.perf_counter()
            response = client.post(f"{base}/rpc", content=body, headers={"content-type": "application/json"})
            times.append((time.perf_counter() - started) * 1000)
            size = len(response.content)
            if "error" in response.json():
                raise RuntimeError(response.text[:300])
    return statistics.median(times), size


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{data / 'tvms.db'}"
        env = {
            **os.environ,
            "TVMS_DATA_DIR": str(data),
            "TVMS_DATABASE_URL": url,
            "TVMS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        }
        asyncio.run(populate(url))
        micros = asyncio.run(in_process(data, url))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "tvms", "serve", "--port", str(port)]
        server = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            with httpx.Client() as client:
                wait_up(client, base)
            scripts: dict[str, Path] = {}
            for label, method, params in CASES:
                request = {
                    "jsonrpc": "2.0",
                    "method": method,
                    "id": 1,
                    **({"params": params} if params else {}),
                }
                script = data / f"{len(scripts)}.lua"
                if params and params.get("search") == NEW_TERM:
                    script.write_text(NEW_TERM_LUA)
                else:
                    script.write_text(lua("/rpc", json.dumps(request).encode()))
                scripts[label] = script
            # Every case run sits between two reference runs, and its ratio is to their mean: on a
            # machine whose speed swings within minutes, only neighbouring runs compare.
            reference, *cases = scripts.items()
            refs: list[float] = []
            figures: dict[str, list[float]] = {label: [] for label, _ in cases}
            ratios: dict[str, list[float]] = {label: [] for label, _ in cases}
            for _ in range(ROUNDS):
                before = wrk_rps(f"{base}/rpc", reference[1], seconds=REFERENCE_SECONDS)
                refs.append(before)
                for label, script in cases:
                    # A 1 s warm-up first, not counted: the case before must not weigh on this one.
                    wrk_rps(f"{base}/rpc", script, seconds=1)
                    rps = wrk_rps(f"{base}/rpc", script)
                    after = wrk_rps(f"{base}/rpc", reference[1], seconds=REFERENCE_SECONDS)
                    refs.append(after)
                    figures[label].append(rps)
                    ratios[label].append(rps / ((before + after) / 2))
                    before = after
            ms, size = map_list(base)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    # No ratio here: the HTTP server's own cost per request (~200 µs) is not in these figures.
    print(
        "\nin-process (the ASGI app called directly): µs per call, best of 20 x 200, and beyond the reference"
    )
    reference_us = next(iter(micros.values()))
    for label, value in micros.items():
        print(f"{label:44} {value:9.1f} {value - reference_us:+7.1f}")
    print(f"\nserver: tvms serve (1 worker); wrk -t1 -c32; {ROUNDS} rounds")
    print("ratio: each run's req/s over the mean of the reference runs just before and after it")
    print(f"{'case':44} {'req/s':>9} {'ratio':>7}  {'ratio range':>11}")
    print(f"{reference[0]:44} {statistics.median(refs):9.0f} {1:7.2f}")
    for label, values in figures.items():
        ratio, spread = statistics.median(ratios[label]), f"{min(ratios[label]):.2f}-{max(ratios[label]):.2f}"
        print(f"{label:44} {statistics.median(values):9.0f} {ratio:7.2f}  {spread:>11}")
    print(f"\nsensors.getAllSensors ({SENSORS} sensors): {ms:.0f} ms median of 7, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
