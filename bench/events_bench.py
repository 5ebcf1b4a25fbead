"""Events benchmark: ingest throughput and events.getAll latency, on SQLite or PostgreSQL.

    PYTHONPATH=src:. python bench/events_bench.py [--database-url URL] [--events 1000000]

1. Ingest: 4 concurrent device clients POST `events.ingest` batches of 500 to a real hypercorn
   server (uvloop, one worker, a separate process) and the events/s are reported beside a raw
   `sqlite3.executemany` of the same rows (same INSERT, same schema, same run) as the ceiling.
2. Query: the table is filled to `--events` rows (demo generator), then `events.getAll` p50/p99
   over HTTP for several filter sets, each with its query plan.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from procedures.events.ingest import INSERT  # noqa: E402
from procedures.sensors.keys import hash_key, new_key  # noqa: E402
from tvms.clock import iso_ms  # noqa: E402
from tvms.db import Database, migrate, open_database  # noqa: E402
from tvms.db.migrate import schema_text  # noqa: E402
from tvms.ids import new_id  # noqa: E402
from tvms.seeding.demo_events import progress_bar, seed_demo_events  # noqa: E402

CLIENTS = 4
BATCH = 500


def serve(port: int) -> None:
    """The server process: the real API plus events/storage and the device-key resolver."""
    import dataclasses

    import uvloop
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    from procedures import api
    from procedures.events import events
    from procedures.sensors.keys import resolve_api_key
    from procedures.storage import storage_router
    from tvms.app import create_app
    from tvms.config import load_config
    from tvms.rpc import Credentials, Principal, Services
    from tvms.storage import storage_routes

    token = os.environ["BENCH_TOKEN"]

    async def resolver(credentials: Credentials, services: Services) -> Principal | None:
        # Bench only: one random bearer token is a VIEWER; devices use their real keys.
        if credentials.bearer is not None:
            return Principal("user", "bench-viewer", "VIEWER") if credentials.bearer == token else None
        return await resolve_api_key(credentials, services)

    # Everything `tvms serve` runs (audit middleware, hooks, routes); only the resolver differs.
    base = api()
    routers = [r for r in base.routers if r.prefix not in ("events", "storage")]
    wired = dataclasses.replace(
        base,
        routers=[*routers, events, storage_router],
        resolver=resolver,
        routes=base.routes if base.routes else storage_routes(),
    )
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    uvloop.run(hypercorn_serve(create_app(load_config(), wired), config))  # type: ignore[arg-type]


def make_items(batches_per_client: int, now: int) -> list[list[list[dict[str, Any]]]]:
    """items[client][batch]: what each device sends. Like a real device, each client's events
    go forward in time (1 ms apart per device, the 4 devices interleaved) and end before `now`;
    externalIds are unique per run."""
    run = new_id()
    total = CLIENTS * batches_per_client * BATCH
    start = now - total - 1000
    return [
        [
            [
                {
                    "externalId": f"{run}-c{client}-{batch}-{n}",
                    "type": "ANPR_READ",
                    "occurredAt": iso_ms(start + (batch * BATCH + n) * CLIENTS + client),
                    "plate": f"{n % 1000:03d}ABC02",
                    "plateConfidence": 0.93,
                    "speedKmh": 57.5,
                    "speedLimitKmh": 60,
                    "lane": 2,
                    "direction": "NORTHBOUND",
                    "vehicleClass": "car",
                    "confidence": 0.97,
                }
                for n in range(BATCH)
            ]
            for batch in range(batches_per_client)
        ]
        for client in range(CLIENTS)
    ]


def _location(client: int) -> str | None:
    return "bench-loc" if client % 2 else None


def _rows(client: int, items: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
    """The rows events.ingest stores for `items` (same values, same sensor and location)."""
    from procedures.events.schemas import to_ms

    return [
        {
            "id": new_id(),
            "sensor_id": f"bench-{client}",
            "external_id": item["externalId"],
            "type": item["type"],
            "occurred_at": to_ms(datetime.fromisoformat(item["occurredAt"])),
            "received_at": now,
            "location_id": _location(client),
            "plate": item["plate"],
            "plate_confidence": item["plateConfidence"],
            "speed_kmh": item["speedKmh"],
            "speed_limit_kmh": float(item["speedLimitKmh"]),
            "lane": item["lane"],
            "direction": item["direction"],
            "vehicle_class": item["vehicleClass"],
            "confidence": item["confidence"],
            "attributes": None,
            "is_violation": False,
            "review_status": None,
        }
        for item in items
    ]


async def raw_sqlite_rate(items: list[list[list[dict[str, Any]]]]) -> float:
    """Ceiling: the same rows through sqlite3.executemany of the same INSERT, 500 rows per
    transaction, WAL, synchronous=NORMAL (as the server), the devices' batches interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raw.db"
        db = await open_database(f"sqlite:///{path}")
        await migrate(db, schema_text())
        await _devices(db)
        await db.close()
        now = int(time.time() * 1000)
        batches = [
            _rows(client, items[client][batch], now)
            for batch in range(len(items[0]))
            for client in range(CLIENTS)
        ]
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        started = time.perf_counter()
        for rows in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return sum(map(len, batches)) / elapsed


async def _devices(db: Database) -> list[str]:
    keys = []
    await db.execute(
        "INSERT INTO locations (id, name, address, type, latitude, longitude, created_at, updated_at)"
        " VALUES ('bench-loc', 'Bench', 'Bench', 'INTERSECTION', 43.2, 76.9, 0, 0)"
    )
    for n in range(CLIENTS):
        key, prefix = new_key()
        await db.execute(
            "INSERT INTO sensors (id, name, device_id, type, status, location_id, created_at, updated_at)"
            " VALUES (:id, :id, :id, 'ANPR', 'ONLINE', :loc, 0, 0)",
            {"id": f"bench-{n}", "loc": _location(n)},
        )
        await db.execute(
            "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at)"
            " VALUES (:id, :s, :p, :h, 0)",
            {"id": new_id(), "s": f"bench-{n}", "p": prefix, "h": hash_key(key)},
        )
        keys.append(key)
    return keys


async def ingest_rate(base: str, keys: list[str], items: list[list[list[dict[str, Any]]]]) -> float:
    def body(events: list[dict[str, Any]]) -> bytes:
        return msgspec.json.encode(
            {"jsonrpc": "2.0", "id": 1, "method": "events.ingest", "params": {"events": events}}
        )

    bodies = [[body(batch) for batch in batches] for batches in items]

    async def client(n: int, http: httpx.AsyncClient) -> None:
        for payload in bodies[n]:
            response = await http.post(
                base + "/rpc",
                content=payload,
                headers={"x-api-key": keys[n], "content-type": "application/json"},
            )
            result = response.json()["result"]
            if result["accepted"] != BATCH:
                raise RuntimeError(f"batch not fully accepted: {result['accepted']}")

    async with httpx.AsyncClient(timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, http) for n in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return sum(len(batch) for batches in items for batch in batches) / elapsed


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("newest 50", {}),
    ("type SPEEDING", {"types": ["SPEEDING"]}),
    ("pending review", {"reviewStatus": "PENDING"}),
    ("one sensor", {"sensorId": "SENSOR"}),
    ("location + types", {"locationId": "LOCATION", "types": ["RED_LIGHT", "SPEEDING"]}),
    ("plate", {"plate": "PLATE"}),
    ("last 24 h, rare type", {"from": "FROM", "types": ["WRONG_WAY"]}),
    ("page 20 (cursor)", {"cursor": "CURSOR"}),
]


async def query_latency(base: str, db: Database, token_headers: dict[str, str], rounds: int) -> None:
    sample = await db.fetchrow(
        "SELECT sensor_id, location_id, plate FROM events WHERE plate IS NOT NULL AND location_id IS NOT NULL"
        " ORDER BY occurred_at DESC LIMIT 1"
    )
    assert sample is not None
    async with httpx.AsyncClient(timeout=60) as http:

        async def get_all(params: dict[str, Any]) -> Any:
            response = await http.post(
                base + "/rpc",
                json={"jsonrpc": "2.0", "id": 1, "method": "events.getAll", "params": params},
                headers=token_headers,
            )
            return response.json()

        cursor = None
        for _ in range(20):
            cursor = (await get_all({"take": 50, **({"cursor": cursor} if cursor else {})}))["result"][
                "nextCursor"
            ]
        replace = {
            "SENSOR": sample["sensor_id"],
            "LOCATION": sample["location_id"],
            "PLATE": sample["plate"],
            "FROM": iso_ms(int(time.time() * 1000) - 86_400_000),
            "CURSOR": cursor,
        }
        print(f"\n{'events.getAll (take 50)':28} {'p50 ms':>8} {'p99 ms':>8}")
        for name, template in QUERIES:
            params = {k: (replace.get(v, v) if isinstance(v, str) else v) for k, v in template.items()}
            timings = []
            for _ in range(rounds):
                started = time.perf_counter()
                body = await get_all(params)
                timings.append((time.perf_counter() - started) * 1000)
                if "error" in body:
                    raise RuntimeError(body["error"])
            timings.sort()
            p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
            print(f"{name:28} {statistics.median(timings):8.2f} {p99:8.2f}")


async def plans(db: Database) -> None:
    from procedures.events.queries import GetAllInput, select_page

    print("\nquery plans:")
    for name, template in QUERIES:
        fake = {
            "SENSOR": "s",
            "LOCATION": "l",
            "PLATE": "123ABC02",
            "FROM": iso_ms(1_700_000_000_000),
            "CURSOR": "WzE3MDAwMDAwMDAwMDAsInoiXQ",
        }
        params_in = {k: (fake.get(v, v) if isinstance(v, str) else v) for k, v in template.items()}
        # The very statement getAll runs (same columns), so the plan is the one being timed.
        sql, params = select_page(msgspec.convert(params_in, GetAllInput))
        prefix = "EXPLAIN QUERY PLAN " if db.engine == "sqlite" else "EXPLAIN "
        rows = await db.fetch(prefix + sql, params)
        if db.engine == "sqlite":
            print(f"  {name}: " + " | ".join(str(row["detail"]) for row in rows))
        else:
            print(f"  {name}:\n" + "\n".join("      " + str(row[0]) for row in rows))


@contextlib.asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """PostgreSQL: a fresh database on the server of `server_url`, dropped afterwards, so the
    bench never writes into the database the URL names (tests and people use it)."""
    import asyncpg  # type: ignore[import-untyped]

    base, _, _ = server_url.rpartition("/")
    name = f"events_bench_{os.getpid()}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def main(args: argparse.Namespace) -> None:
    if args.database_url:
        async with scratch_database(args.database_url) as url:
            await run(args, url)
    else:
        await run(args, "")


async def run(args: argparse.Namespace, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database_url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = await open_database(database_url)
        await migrate(db, schema_text())
        keys = await _devices(db)
        port = int(args.port)
        token = new_id()
        env = {
            **os.environ,
            "BENCH_TOKEN": token,
            "TVMS_DATABASE_URL": database_url,
            "TVMS_DATA_DIR": tmp,
            "TVMS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        }
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)  # noqa: ASYNC220
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(base + "/healthz", timeout=1)  # noqa: ASYNC210  (start-up only)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            print(f"engine: {db.engine}; {CLIENTS} clients x batches of {BATCH}")
            now = int(time.time() * 1000)
            await ingest_rate(base, keys, make_items(2, now))  # warm-up
            items = make_items(args.batches, now)
            rate = await ingest_rate(base, keys, items)
            raw = await raw_sqlite_rate(items)
            print(f"ingest via events.ingest: {rate:,.0f} events/s")
            print(
                f"raw sqlite3.executemany : {raw:,.0f} events/s   (ingest = {100 * rate / raw:.0f}% of raw)"
            )
            have = int(await db.fetchval("SELECT COUNT(*) FROM events"))
            if args.events > have:
                print(f"filling to {args.events:,} events")
                await seed_demo_events(
                    db,
                    args.events - have,
                    now_ms=int(time.time() * 1000),
                    progress=progress_bar(),
                    seed=1,
                    batch_size=5000,
                )
            if db.engine == "postgresql":
                await db.execute("ANALYZE events")
            else:
                await db.execute("ANALYZE")
            await query_latency(base, db, {"authorization": "Bearer " + token}, args.rounds)
            await plans(db)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server URL: the bench runs in a scratch database on it",
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=20, help="batches per client (default 20)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--port", default="18931")
    arguments = parser.parse_args()
    if arguments.serve:
        serve(int(arguments.serve))
    else:
        asyncio.run(main(arguments))
