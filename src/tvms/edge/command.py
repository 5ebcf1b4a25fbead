"""The `tvms agent` and `tvms simulate` subcommands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from tvms.config import Config
from tvms.edge.config import FORMAT, AgentConfigError, load_agent_config

STATUS_EVERY_S = 10.0


def status_line(name: str, stats: dict[str, int], counts: dict[str, int]) -> str:
    return (
        f"{name}: generated {stats['generated']} acknowledged {stats['acknowledged']}"
        f" queued {stats['queued']} dropped {stats['dropped']} rejected {stats['rejected']}"
        f" evidence {stats['evidenceUploaded']}/{stats['evidenceGenerated']}"
        f" (dropped {stats['evidenceDropped']}) heartbeats {counts['heartbeats']}"
        f" samples {counts['samples']} commands {counts['commands']} failures {counts['failures']}"
    )


def quiet_http_logs() -> None:
    """One line per HTTP request would drown the status lines."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _run_agent(args: argparse.Namespace, config: Config) -> int:
    from tvms.edge.agent import Agent, stop_on_signals

    quiet_http_logs()
    try:
        agent_config = load_agent_config(Path(args.config))
    except AgentConfigError as exc:
        print(f"tvms agent: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        agent = Agent(agent_config, name=Path(args.config).stem)
        runner = asyncio.create_task(agent.run(stop))
        while not stop.is_set():
            print(status_line(agent.name, agent.outbox.stats(), agent.counts), file=sys.stderr, flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
        print(status_line(agent.name, agent.outbox.stats(), agent.counts), file=sys.stderr, flush=True)
        await runner

    asyncio.run(main())
    return 0


def _run_simulate(args: argparse.Namespace, config: Config) -> int:
    from tvms.edge.simulate import run_simulation

    quiet_http_logs()
    return run_simulation(args)


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server")
    parser.add_argument("--email", default="admin@itms.solutions", help="an OPERATOR or ADMIN account")
    parser.add_argument(
        "--password-env",
        default="TVMS_SIMULATE_PASSWORD",
        help="environment variable holding the password (the demo's if unset)",
    )
    parser.add_argument("--devices", type=int, default=0, help="at most this many agents (0: every device)")
    parser.add_argument("--rate", type=float, default=6.0, help="events per minute per agent on average")
    parser.add_argument("--violations", type=float, default=0.06, help="share of vehicles that violate")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: until Ctrl-C)")
    parser.add_argument(
        "--outages", type=float, default=0.02, help="chance per agent per minute of an outage"
    )
    parser.add_argument("--dir", default="data/simulate", help="where the agents keep their outboxes")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat interval, seconds")
    parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable traffic)")
    parser.add_argument("--wait", type=float, default=0.0, help="wait this long for the server to answer")


def register(commands: Any) -> None:
    agent = commands.add_parser(
        "agent",
        help="run the gateway agent (heartbeats, events, metrics, commands)",
        epilog=FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    agent.add_argument("--config", required=True, help="the agent's TOML configuration file")
    agent.set_defaults(run=_run_agent)
    simulate = commands.add_parser(
        "simulate",
        help="a living demo city: virtual devices behind gateways",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(run=_run_simulate)
