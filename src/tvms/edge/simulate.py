"""`tvms simulate`: a living demo city. Every gateway (with its cameras and NVRs) and every
stand-alone device of the server becomes an agent with its own durable outbox, all in one
process, speaking to the server through the generated client like real ones would.

What it does: takes the devices from `sensors.getAllSensors` (signed in as an operator),
rotates each agent's device key (the new key is kept in memory only), runs the agents with
traffic (rush hours in the server's time zone), cuts random uplinks for a few minutes (the
devices go OFFLINE on the server and come back, their queued events following), and answers
operators' commands. A progress line shows on a terminal; a summary ends the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import tvms_client
from tvms_client import models

from tvms.edge.agent import Agent, stop_on_signals
from tvms.edge.config import AgentConfig, Child, Traffic

STANDALONE = ("ANPR", "RADAR", "SPEED_DETECTOR")
COUNTERS = (
    "generated",
    "acknowledged",
    "queued",
    "dropped",
    "rejected",
    "evidenceGenerated",
    "evidenceUploaded",
    "evidenceDropped",
)


@dataclass
class Site:
    sensor: models.MapSensor
    children: list[models.MapSensor] = field(default_factory=list)


def plan_sites(sensors: list[models.MapSensor], limit: int) -> list[Site]:
    """One agent per gateway (with its children) and per stand-alone detector, gateways first."""
    live = [s for s in sensors if s.status != "MAINTENANCE"]
    gateways = {s.id: Site(s) for s in live if s.type == "EDGE_CONTROLLER"}
    singles = [Site(s) for s in live if s.type in STANDALONE and s.parent_sensor_id is None]
    for sensor in live:
        if sensor.parent_sensor_id in gateways and sensor.type in ("CAMERA", "NVR"):
            gateways[sensor.parent_sensor_id].children.append(sensor)
    sites = [*gateways.values(), *singles]
    return sites[:limit] if limit > 0 else sites


async def _keys(client: tvms_client.AsyncClient, sites: list[Site]) -> list[str]:
    keys = []
    for first in range(0, len(sites), 50):  # batches of 50 rotations: one request each
        async with client.batch() as batch:
            pending = [batch.sensors.rotate_api_key(id=site.sensor.id) for site in sites[first : first + 50]]
        keys += [p.result().api_key for p in pending]
    return keys


def _totals(agents: list[Agent], since: dict[str, int] | None = None) -> dict[str, int]:
    """The agents' counters summed; with `since` (the sums at the start), this run's share.

    The outboxes' counters persist across runs, so a run reports what it added to them; `queued`
    is what waits in the outboxes now (a level, not a count), whichever run generated it.
    """
    totals = dict.fromkeys(COUNTERS, 0)
    totals.update(commands=0, offline=0)
    for agent in agents:
        stats = agent.outbox.stats()
        for name in COUNTERS:
            totals[name] += stats[name]
        totals["commands"] += agent.counts["commands"]
        totals["offline"] += not agent.uplink.is_set()
    for name in COUNTERS:
        if since is not None and name != "queued":
            totals[name] -= since[name]
    return totals


def _line(elapsed: float, agents: list[Agent], totals: dict[str, int]) -> str:
    return (
        f"{elapsed:6.0f}s agents {len(agents)} (offline {totals['offline']})  events generated"
        f" {totals['generated']} acknowledged {totals['acknowledged']} queued {totals['queued']}"
        f" dropped {totals['dropped']}  evidence {totals['evidenceUploaded']}  commands {totals['commands']}"
    )


async def _outages(agents: list[Agent], chance_per_minute: float, rng: random.Random) -> None:
    """Every 10 s each agent may lose its uplink for 1 to 4 minutes (long enough to go OFFLINE)."""

    async def outage(agent: Agent) -> None:
        agent.go_offline()
        await asyncio.sleep(rng.uniform(60, 240))
        agent.go_online()

    running: set[asyncio.Task[None]] = set()
    while True:
        await asyncio.sleep(10)
        for agent in agents:
            if agent.uplink.is_set() and rng.random() < chance_per_minute / 6:
                task = asyncio.create_task(outage(agent))
                running.add(task)
                task.add_done_callback(running.discard)


async def wait_for_server(url: str, seconds: float) -> None:
    """Until GET /healthz answers (a server starting beside us), at most `seconds`."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url.rstrip("/") + "/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def simulate(args: argparse.Namespace, password: str) -> dict[str, int]:
    rng = random.Random(args.seed)
    stop = asyncio.Event()
    stop_on_signals(stop)  # Ctrl-C from here on ends the run with its summary
    if args.wait:
        await wait_for_server(args.url, args.wait)
    async with tvms_client.AsyncClient(args.url, retries=2) as admin:
        await admin.login(args.email, password)
        zone = (await admin.system.timezone.get_timezone_settings()).timezone
        sites = plan_sites(await admin.sensors.get_all_sensors(), args.devices)
        if not sites:
            raise SystemExit("tvms simulate: the server has no devices; run `tvms seed --demo` first")
        keys = await _keys(admin, sites)
    base = Path(args.dir)
    tls = ssl.create_default_context()  # one for all the agents' connection pools
    agents = []
    for number, (site, key) in enumerate(zip(sites, keys, strict=True)):
        config = AgentConfig(
            server=args.url,
            key=key,
            queue=f"{site.sensor.device_id}.queue.db",
            heartbeat_s=args.heartbeat,
            children=[
                Child(device_id=c.device_id, type=c.type)
                for c in site.children
                if c.type in ("CAMERA", "NVR")
            ],
            traffic=Traffic(
                events_per_minute=args.rate,
                violation_rate=args.violations,
                timezone=zone,
                speed_limit_kmh=rng.choice((40, 50, 60, 60, 80, 90)),
                seed=None if args.seed is None else args.seed + number,
            ),
            base_dir=base,
        )
        agents.append(Agent(config, name=site.sensor.device_id, tls=tls))
    start = _totals(agents)  # what earlier runs left in the outboxes' counters
    tasks = [asyncio.create_task(agent.run(stop)) for agent in agents]
    chaos = asyncio.create_task(_outages(agents, args.outages, rng))
    started = time.monotonic()
    terminal = sys.stderr.isatty()
    print(f"tvms simulate: {len(agents)} agents against {args.url} (time zone {zone})", file=sys.stderr)
    last_print = 0.0
    while not stop.is_set():
        elapsed = time.monotonic() - started
        if args.duration and elapsed >= args.duration:
            break
        if terminal:
            print("\r" + _line(elapsed, agents, _totals(agents, start)), end="", file=sys.stderr, flush=True)
        elif elapsed - last_print >= 10:
            print(_line(elapsed, agents, _totals(agents, start)), file=sys.stderr, flush=True)
            last_print = elapsed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    chaos.cancel()
    for agent in agents:  # the cable goes back in: give the outboxes a moment to drain
        agent.go_online()
        agent.stop_traffic()
    drain_until = time.monotonic() + 15
    while time.monotonic() < drain_until and _totals(agents, start)["queued"] and not stop.is_set():
        with contextlib.suppress(TimeoutError):  # a signal ends the wait at once
            await asyncio.wait_for(stop.wait(), 0.5)
    totals = _totals(agents, start)
    stop.set()
    await asyncio.gather(*tasks, chaos, return_exceptions=True)
    if terminal:
        print(file=sys.stderr)
    return totals


def run_simulation(args: argparse.Namespace) -> int:
    password = os.environ.get(args.password_env) or "Admin@123"
    try:
        totals = asyncio.run(simulate(args, password))
    except tvms_client.UnauthorizedError:
        print(f"tvms simulate: {args.email} cannot sign in (set {args.password_env})", file=sys.stderr)
        return 2
    except tvms_client.TransportError as exc:
        print(f"tvms simulate: the server at {args.url} does not answer ({exc})", file=sys.stderr)
        return 2
    print(
        "tvms simulate: summary of this run (queued: events waiting in the outboxes now, they go out"
        " on the next run): events generated {generated}, acknowledged {acknowledged}, queued {queued},"
        " dropped {dropped}, rejected {rejected}; evidence images {evidenceGenerated}, uploaded"
        " {evidenceUploaded}, dropped {evidenceDropped}; commands answered {commands}".format(**totals)
    )
    return 0
