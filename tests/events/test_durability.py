"""Durability: 4 devices ingest into a real `tvms serve`, which is SIGKILLed mid-stream and
restarted. Every event whose ingest was acknowledged must be stored exactly once (with the id
its receipt named) and the database must pass an integrity check.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx

from procedures.sensors.keys import hash_key, new_key
from tests.conftest import POSTGRES_SERVER
from tests.events.factories import event
from tests.server import live_server
from tvms.db import open_database
from tvms.ids import new_id

DEVICES = 4
BATCH = 50


async def _register_devices(database_url: str) -> list[tuple[str, str]]:
    """Sensors dur-0..3 with live device keys, inserted the way sensors.create stores them."""
    db = await open_database(database_url)
    devices = []
    try:
        for n in range(DEVICES):
            sensor_id = f"dur-{n}"
            key, prefix = new_key()
            await db.execute(
                "INSERT INTO sensors (id, name, device_id, type, status, created_at, updated_at)"
                " VALUES (:id, :id, :id, 'ANPR', 'ONLINE', 0, 0)",
                {"id": sensor_id},
            )
            await db.execute(
                "INSERT INTO device_keys (id, sensor_id, prefix, key_hash, created_at)"
                " VALUES (:id, :sensor_id, :prefix, :hash, 0)",
                {"id": new_id(), "sensor_id": sensor_id, "prefix": prefix, "hash": hash_key(key)},
            )
            devices.append((sensor_id, key))
    finally:
        await db.close()
    return devices


class Device:
    """Sends numbered batches; remembers what was acknowledged and what was in flight."""

    def __init__(self, sensor_id: str, key: str, offset: int) -> None:
        self.sensor_id = sensor_id
        self.key = key
        self.next = offset
        self.acked: dict[str, str] = {}  # externalId → event id from the receipt
        self.unacked: list[list[dict[str, Any]]] = []

    def batch(self) -> list[dict[str, Any]]:
        items = [event(n) for n in range(self.next, self.next + BATCH)]
        self.next += BATCH
        return items

    async def send(self, http: httpx.AsyncClient, base: str, items: list[dict[str, Any]]) -> bool:
        try:
            response = await http.post(
                base + "/rpc",
                json={"jsonrpc": "2.0", "id": 1, "method": "events.ingest", "params": {"events": items}},
                headers={"x-api-key": self.key},
            )
        except httpx.HTTPError:
            return False
        body = response.json()
        assert "result" in body, body
        for receipt in body["result"]["receipts"]:
            assert receipt["status"] in ("CREATED", "DUPLICATE"), receipt
            previous = self.acked.setdefault(receipt["externalId"], receipt["id"])
            assert previous == receipt["id"]
        return True

    async def stream(self, http: httpx.AsyncClient, base: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            items = self.batch()
            if not await self.send(http, base, items):
                self.unacked.append(items)
                return


async def test_acknowledged_events_survive_sigkill(tmp_path: Path, database_url: str) -> None:
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "WARNING",
    }
    with live_server(env, tmp_path / "server.log", timeout=60) as server:
        devices = [
            Device(sensor_id, key, offset=n * 1_000_000)
            for n, (sensor_id, key) in enumerate(await _register_devices(database_url))
        ]
        stop = asyncio.Event()
        async with httpx.AsyncClient(timeout=10) as http:
            streams = [asyncio.create_task(d.stream(http, server.url, stop)) for d in devices]
            while sum(len(d.acked) for d in devices) < 40 * BATCH:  # well into the stream
                await asyncio.sleep(0.01)
                assert server.process.poll() is None, server.stderr[-2000:]
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            stop.set()
            await asyncio.gather(*streams)
        assert sum(len(d.unacked) for d in devices) >= 1  # the kill did land mid-stream

        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(timeout=10) as http:
            for device in devices:  # devices retry what was never acknowledged
                for items in device.unacked:
                    assert await device.send(http, server.url, items)

    db = await open_database(database_url)
    try:
        for device in devices:
            rows = await db.fetch(
                "SELECT id, external_id FROM events WHERE sensor_id = :s", {"s": device.sensor_id}
            )
            stored = {row["external_id"]: row["id"] for row in rows}
            assert len(stored) == len(rows)  # exactly once
            assert {k: stored.get(k) for k in device.acked} == device.acked
            assert set(stored) == set(device.acked)  # the retried batches made the rest acknowledged
        if not POSTGRES_SERVER:
            assert await db.fetchval("PRAGMA integrity_check") == "ok"
            assert await db.fetchval("PRAGMA foreign_key_check") is None
    finally:
        await db.close()
