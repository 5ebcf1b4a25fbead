"""The agent against the in-process app: it answers every command type (a SNAPSHOT with a real
JPEG), and its outbox keeps its counts and its drop policy."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
from PIL import Image
from starlette.applications import Starlette

from tests.support import as_role, result
from tvms.clock import ManualClock
from tvms.db import Database
from tvms.edge.agent import Agent, Backoff
from tvms.edge.config import AgentConfig, Child
from tvms.edge.queue import Outbox

OPERATOR = as_role("OPERATOR")


async def test_the_agent_answers_every_command(
    app: Starlette, client: httpx.AsyncClient, site: Database, tmp_path: Path, clock: ManualClock
) -> None:
    clock.advance(time.time() - clock.now_ms() / 1000)  # the agent stamps samples with real time
    config = AgentConfig(
        server="http://tvms.test",
        key="test:gw-1",
        base_dir=tmp_path,
        poll_wait_s=1,
        children=[Child(device_id="dev-cam-1"), Child(device_id="dev-nvr-1", type="NVR")],
    )
    agent = Agent(config, transport=httpx.ASGITransport(app=app))
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    orders: list[tuple[str, dict[str, Any]]] = [
        ("gw-1", {"type": "PING"}),
        ("cam-1", {"type": "SNAPSHOT", "width": 320, "height": 180}),
        ("cam-1", {"type": "SET_CONFIG", "settings": {"video.fps": 15, "anpr.enabled": False}}),
        ("nvr-1", {"type": "REBOOT", "delayS": 0}),
    ]
    sent = [
        await result(client, "commands.send", {"sensorId": s, "command": c}, headers=OPERATOR)
        for s, c in orders
    ]
    try:
        for _ in range(600):
            states = [
                (await result(client, "commands.getById", {"id": c["id"]}, headers=OPERATOR)) for c in sent
            ]
            if all(state["state"] in ("SUCCEEDED", "FAILED", "EXPIRED") for state in states):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert [s["state"] for s in states] == ["SUCCEEDED"] * 4, states
    assert states[0]["result"]["pong"] is True
    assert states[2]["result"] == {"applied": 2}
    assert agent.settings["dev-cam-1"] == {"video.fps": 15, "anpr.enabled": False}
    picture = await client.get(states[1]["artifact"]["url"])
    image = Image.open(io.BytesIO(picture.content))
    assert (image.format, image.size) == ("JPEG", (320, 180))
    beat = await site.fetchrow("SELECT status, last_heartbeat_at FROM sensors WHERE id = 'nvr-1'")
    assert beat is not None and beat["status"] == "ONLINE" and beat["last_heartbeat_at"] is not None
    assert await site.fetchval("SELECT COUNT(*) FROM device_metrics WHERE sensor_id = 'cam-1'") >= 1


def _body(size: int) -> Any:
    return lambda key: msgspec.json.encode({"externalId": key, "pad": "x" * size})


def test_outbox_counts_and_drops_oldest_first(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "q.db", budget_bytes=1_000)
    keys = [outbox.add("cam", _body(250)) for _ in range(3)]
    assert outbox.stats()["dropped"] == 0
    image = b"\xff\xd8" + b"i" * 200
    with_image = outbox.add("cam", _body(10), image)  # over budget: the oldest entry goes
    stats = outbox.stats()
    assert (stats["generated"], stats["dropped"], stats["queued"]) == (4, 1, 3)
    assert [item.external_id for item in outbox.unsent(10)] == [*keys[1:], with_image]
    outbox.acknowledge({keys[1]: "e1", with_image: "e2"}, rejected=[keys[2]])
    stats = outbox.stats()
    assert (stats["acknowledged"], stats["rejected"], stats["queued"], stats["awaitingEvidence"]) == (
        2,
        1,
        0,
        1,
    )
    outbox.acknowledge({keys[1]: "e1"}, rejected=[])  # a repeated answer counts nothing twice
    assert outbox.stats()["acknowledged"] == 2
    [waiting] = outbox.awaiting_evidence(10)
    assert (waiting.event_id, waiting.evidence) == ("e2", image)
    outbox.evidence_done(waiting.seq, uploaded=True)
    outbox.close()
    again = Outbox(tmp_path / "q.db", budget_bytes=1_000)  # counters and key prefix survive
    final = again.stats()
    assert (
        final["generated"] == final["acknowledged"] + final["rejected"] + final["dropped"] + final["queued"]
    )
    assert (final["evidenceGenerated"], final["evidenceUploaded"]) == (1, 1)
    assert again.add("cam", _body(1)).endswith("-5") and again.instance == with_image.split("-")[0]
    again.close()


def test_backoff_grows_with_full_jitter() -> None:
    backoff = Backoff(base_s=1.0, cap_s=8.0)
    delays = [backoff.next_delay() for _ in range(12)]
    assert all(0 <= delay <= 8.0 for delay in delays)
    assert len(set(delays)) > 1  # jittered, not a fixed schedule
    ceilings = [min(8.0, 1.0 * 2**n) for n in range(1, 13)]
    assert all(delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.failures == 0
