"""Auth benchmark: logins per second at the configured bcrypt cost, and the p99 latency of
`system.health` while 20 logins run concurrently (the event loop must stay responsive).

Runs against a real server process on a free 127.0.0.1 port: `python -m tvms serve` when it
serves `auth.login`; until the auth routers are wired into `procedures.api()`, the same app
plus the auth routers on hypercorn (`--fallback` forces that). bcrypt cost: TVMS_BCRYPT_ROUNDS
(default 12, the production cost). Prints the figures; bench/README.md records them.

    PYTHONPATH=src:. python bench/auth_bench.py [--logins 20] [--fallback]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench#Pass1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_fallback(port: int) -> None:
    """The real app plus the auth, users and audit routers, on one hypercorn uvloop worker."""
    import uvloop
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    from procedures import api
    from procedures.audit import audit, audit_middleware
    from procedures.auth import auth, resolve_bearer
    from procedures.users import users
    from tvms.app import create_app
    from tvms.config import load_config

    base = api()
    the_api = dataclasses.replace(
        base,
        routers=[*base.routers, *(r for r in (auth, users, audit) if r not in base.routers)],
        resolver=resolve_bearer,
        middleware=[*base.middleware, *(m for m in (audit_middleware,) if m not in base.middleware)],
    )
    app = create_app(load_config(), the_api)
    server = HypercornConfig()
    server.bind = [f"127.0.0.1:{port}"]
    server.accesslog = None
    server.errorlog = None
    uvloop.run(serve(app, server))  # type: ignore[arg-type]


async def _seed(env: dict[str, str], count: int) -> list[str]:
    """Migrate and create `count` users sharing one hash (one address each: the lockout limits
    concurrent checks per address)."""
    os.environ.update(env)
    from procedures.users.store import insert_user
    from tvms.config import load_config
    from tvms.db import open_database
    from tvms.db.migrate import run_migrations
    from tvms.security.passwords import Passwords

    config = load_config()
    await run_migrations(config)
    db = await open_database(config.resolved_database_url)
    password_hash = await Passwords(config.bcrypt_rounds).hash(PASSWORD)
    emails = [f"bench{n}@example.com" for n in range(count)]
    try:
        async with db.transaction() as tx:
            for n, email in enumerate(emails):
                await insert_user(
                    tx,
                    {
                        "id": f"bench-{n}",
                        "email": email,
                        "hash": password_hash,
                        "first_name": "Bench",
                        "last_name": str(n),
                        "role": "VIEWER",
                        "now": int(time.time() * 1000),
                    },
                )
    finally:
        await db.close()
    return emails


def _start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def _serves_login(port: int) -> bool:
    body = httpx.post(
        f"http://127.0.0.1:{port}/rpc", json={"jsonrpc": "2.0", "method": "auth.login", "id": 1, "params": {}}
    ).json()
    return body.get("error", {}).get("code") != -32601


async def _login(http: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    response = await http.post(
        "/rpc",
        json={
            "jsonrpc": "2.0",
            "method": "auth.login",
            "id": 1,
            "params": {"email": email, "password": PASSWORD},
        },
    )
    if "result" not in response.json():
        raise SystemExit(f"login failed: {response.text}")
    return time.perf_counter() - started


async def _health_latencies(http: httpx.AsyncClient, until: asyncio.Event) -> list[float]:
    latencies = []
    while not until.is_set():
        started = time.perf_counter()
        response = await http.post("/rpc", json={"jsonrpc": "2.0", "method": "system.health", "id": 1})
        response.raise_for_status()
        latencies.append(time.perf_counter() - started)
    return latencies


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _measure(port: int, emails: list[str]) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120) as http:
        await _login(http, emails[0])  # warm-up
        started = time.perf_counter()
        sequential = [await _login(http, email) for email in emails[:5]]
        serial_rate = len(sequential) / (time.perf_counter() - started)

        baseline_stop = asyncio.Event()
        baseline_task = asyncio.create_task(_health_latencies(http, baseline_stop))
        await asyncio.sleep(2)
        baseline_stop.set()
        baseline = await baseline_task

        stop = asyncio.Event()
        health = asyncio.create_task(_health_latencies(http, stop))
        started = time.perf_counter()
        durations = await asyncio.gather(*(_login(http, email) for email in emails))
        elapsed = time.perf_counter() - started
        stop.set()
        loaded = await health

    rounds = os.environ.get("TVMS_BCRYPT_ROUNDS") or "12"
    print(f"bcrypt cost {rounds}, {os.cpu_count()} CPU(s)")
    print(
        f"logins/s, one at a time:            {serial_rate:7.2f}"
        f"  (median {statistics.median(sequential) * 1000:.0f} ms)"
    )
    print(
        f"logins/s, {len(emails)} concurrent:             {len(emails) / elapsed:7.2f}  "
        f"(all done in {elapsed:.2f} s; slowest {max(durations) * 1000:.0f} ms)"
    )
    print(
        f"system.health idle:        p50 {_p(baseline, 0.5):6.2f} ms"
        f"  p99 {_p(baseline, 0.99):6.2f} ms  (n={len(baseline)})"
    )
    print(
        f"system.health + {len(emails)} logins: p50 {_p(loaded, 0.5):6.2f} ms"
        f"  p99 {_p(loaded, 0.99):6.2f} ms  (n={len(loaded)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--fallback", action="store_true", help="serve the app + auth routers directly")
    parser.add_argument("--serve-fallback", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fallback:
        serve_fallback(args.serve_fallback)
        return 0
    with tempfile.TemporaryDirectory() as data:
        port = _free_port()
        env = {
            **os.environ,
            "TVMS_DATA_DIR": data,
            "TVMS_SECRET_KEY": secrets.token_urlsafe(48),
            "TVMS_LOG_LEVEL": "warning",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        }
        env.pop("TVMS_DATABASE_URL", None)
        emails = asyncio.run(_seed(env, args.logins))
        process = None
        if not args.fallback:
            process = _start([sys.executable, "-m", "tvms", "serve", "--port", str(port)], env, port)
            if not _serves_login(port):
                print("note: `tvms serve` does not serve auth.login yet; using the fallback server")
                process.terminate()
                process.wait()
                process = None
        if process is None:
            process = _start([sys.executable, __file__, "--serve-fallback", str(port)], env, port)
        try:
            asyncio.run(_measure(port, emails))
        finally:
            process.terminate()
            process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
