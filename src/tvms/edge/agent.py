"""`tvms agent`: the gateway agent between a site's cameras and NVRs and the API.

It runs five loops against the server, all through the generated client:
- heartbeats for the gateway and its children (`sensors.heartbeat`);
- health samples (`metrics.ingest`), kept in memory (bounded) while the server is away;
- the outbox (queue.py): events in batches (`events.ingest`), then their evidence images;
- commands (`devices.pollCommands` long poll; `devices.reportCommand`);
- optionally a traffic source (traffic.py) that fills the outbox, as the cameras would.
Every failed call waits with exponential backoff and full jitter before the next try. The
uplink can be cut and restored (`go_offline` / `go_online`), as the simulator does: the loops
then wait, while traffic still goes into the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import random
import shutil
import signal
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import tvms_client
from tvms_client import models

from tvms.edge.config import AgentConfig
from tvms.edge.images import scene_jpeg
from tvms.edge.queue import Outbox
from tvms.edge.traffic import TrafficModel, rush_factor

log = logging.getLogger("tvms.agent")

FIRMWARE = "tvms-agent/1"
MAX_BUFFERED_SAMPLES = 5_000
_encode = msgspec.json.Encoder().encode
# The server or the network failed: try again later. Any other error is a bug or a refusal.
RETRYABLE = (
    tvms_client.TransportError,
    tvms_client.ProtocolError,
    tvms_client.InternalServerError,
    tvms_client.TooManyRequestsError,
    tvms_client.TimeoutError,
    httpx.HTTPError,
)


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGINT or SIGTERM (an agent or a simulation then ends cleanly)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


class Backoff:
    """Exponential backoff with full jitter: wait a random time up to base·2ⁿ (capped)."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** min(self.failures, 20)))

    async def wait(self) -> None:
        await asyncio.sleep(self.next_delay())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_transport(tls: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """An agent's connection pool. Idle connections are dropped before the server's 5 s
    keep-alive ends, so a request is rarely sent on a connection the server is closing (which
    fails with an empty ReadError). Many agents in one process share one `tls` context: making
    one costs tens of milliseconds. (Not one pool for all: httpcore's pool slows down with
    hundreds of connections.)"""
    limits = httpx.Limits(max_connections=10, keepalive_expiry=2.0)
    return httpx.AsyncHTTPTransport(limits=limits, verify=tls or ssl.create_default_context())


def _event_body(fields: dict[str, Any], external_id: str) -> bytes:
    return _encode({"externalId": external_id, **fields})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gateway_health(path: str) -> dict[str, float]:
    """This machine's own load, memory and disk (Linux /proc; plain defaults elsewhere)."""
    cpu = min(100.0, os.getloadavg()[0] / (os.cpu_count() or 1) * 100)
    memory = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        info = dict(
            line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
        )
        total, available = int(info["MemTotal"].split()[0]), int(info["MemAvailable"].split()[0])
        memory = 100.0 * (total - available) / total
    usage = shutil.disk_usage(path)
    return {
        "cpu": round(cpu, 1),
        "memory": round(memory, 1),
        "disk": round(100.0 * usage.used / usage.total, 1),
    }


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        name: str = "agent",
        transport: httpx.AsyncBaseTransport | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.outbox = Outbox(config.queue_path, int(config.disk_budget_mb * 1024 * 1024))
        # One transport (connection pool) for both clients; a shared one stays its owner's to close.
        self._owns_transport = transport is None
        pool = transport or new_transport(tls)
        self.client = tvms_client.AsyncClient(
            config.server, api_key=config.key, timeout=40.0, retries=0, transport=pool
        )
        self.http = httpx.AsyncClient(timeout=30.0, transport=pool)
        self.started = time.monotonic()
        self.uplink = asyncio.Event()
        self.uplink.set()
        self.work = asyncio.Event()  # new events in the outbox
        self.generating = True
        self.samples: deque[models.Sample] = deque(maxlen=MAX_BUFFERED_SAMPLES)
        self.settings: dict[str, dict[str, Any]] = {}
        self.cameras = [c.device_id for c in config.children if c.type == "CAMERA"]
        self.nvr_storage = {c.device_id: random.uniform(20, 60) for c in config.children if c.type == "NVR"}
        self.counts = {"heartbeats": 0, "samples": 0, "commands": 0, "failures": 0}
        traffic = config.traffic
        self.traffic = (
            None
            if traffic is None
            else TrafficModel(
                traffic.timezone,
                traffic.speed_limit_kmh,
                traffic.violation_rate,
                traffic.evidence,
                traffic.seed,
            )
        )

    # --- life cycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loops = [self._heartbeats, self._metrics, self._forward, self._commands]
        if self.traffic is not None:
            loops.append(self._generate)
        tasks = [asyncio.create_task(self._keep_running(loop)) for loop in loops]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._owns_transport:
                await self.client.aclose()  # closes the pool the http client shares
            self.outbox.close()

    async def _keep_running(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run one loop; a bug in it is logged and the loop starts again (after a pause)."""
        backoff = Backoff(base_s=1.0, cap_s=60.0)
        while True:
            try:
                await loop()
                return
            except Exception:
                log.exception("%s: %s failed; restarting it", self.name, loop.__name__)
                await backoff.wait()

    def stop_traffic(self) -> None:
        """The cameras stop seeing traffic; the outbox still drains."""
        self.generating = False

    def go_offline(self) -> None:
        """Cut the uplink: calls stop (the next ones wait), events still queue up."""
        self.uplink.clear()

    def go_online(self) -> None:
        self.uplink.set()

    def _absolute(self, url: str) -> str:
        """A signed URL as given, or resolved against the server when the store signs paths."""
        return str(httpx.URL(self.config.server).join(url))

    def uptime_s(self) -> int:
        return int(time.monotonic() - self.started)

    async def _online(self) -> None:
        await self.uplink.wait()

    async def _retrying(self, backoff: Backoff, what: str, exc: BaseException) -> None:
        self.counts["failures"] += 1
        delay = backoff.next_delay()
        log.info(
            "%s: %s failed (%s: %s); retrying in %.1f s", self.name, what, type(exc).__name__, exc, delay
        )
        await asyncio.sleep(delay)

    # --- heartbeats and metrics ---------------------------------------------------------------

    async def _heartbeats(self) -> None:
        backoff = Backoff()
        while True:
            await self._online()
            health = _gateway_health(str(self.config.base_dir))
            usage = shutil.disk_usage(self.config.base_dir)
            try:
                await self.client.sensors.heartbeat(
                    status="ONLINE",
                    uptime_s=self.uptime_s(),
                    cpu_pct=health["cpu"],
                    disk_used_bytes=usage.used,
                    disk_total_bytes=usage.total,
                    firmware_version=FIRMWARE,
                    children=[
                        models.HeartbeatChild(device_id=c.device_id, status="ONLINE")
                        for c in self.config.children
                    ]
                    or None,
                )
            except RETRYABLE as exc:
                await self._retrying(backoff, "heartbeat", exc)
                continue
            self.counts["heartbeats"] += 1
            backoff.reset()
            await asyncio.sleep(self.config.heartbeat_s * random.uniform(0.9, 1.1))

    def _take_samples(self) -> None:
        at = datetime.now(UTC)
        health = _gateway_health(str(self.config.base_dir))
        self.samples.append(
            models.Sample(
                at=at,
                cpu_pct=health["cpu"],
                memory_pct=health["memory"],
                disk_pct=health["disk"],
                temperature_c=round(random.gauss(52, 3), 1),
                uptime_s=self.uptime_s(),
            )
        )
        for device_id in self.cameras:
            self.samples.append(
                models.Sample(
                    at=at,
                    device_id=device_id,
                    fps=round(max(0.0, random.gauss(25, 0.4)), 2),
                    bitrate_kbps=round(max(0.0, random.gauss(4096, 250)), 1),
                    temperature_c=round(random.gauss(41, 4), 1),
                    uptime_s=self.uptime_s(),
                )
            )
        for device_id, used in self.nvr_storage.items():
            self.nvr_storage[device_id] = used = min(99.0, used + random.uniform(0, 0.05))
            self.samples.append(
                models.Sample(
                    at=at,
                    device_id=device_id,
                    recording=True,
                    storage_used_pct=round(used, 2),
                    uptime_s=self.uptime_s(),
                )
            )

    async def _metrics(self) -> None:
        backoff = Backoff()
        next_sample = 0.0
        while True:
            if time.monotonic() >= next_sample:
                self._take_samples()
                next_sample = time.monotonic() + self.config.metrics_s
            await self._online()
            while self.samples:
                batch = [self.samples[n] for n in range(min(1000, len(self.samples)))]
                try:
                    await self.client.metrics.ingest(samples=batch)
                except RETRYABLE as exc:
                    await self._retrying(backoff, "metrics", exc)
                    break
                except tvms_client.RpcError as exc:  # refused as a whole: drop them, say so
                    log.warning("%s: metrics refused (%s): %d samples dropped", self.name, exc, len(batch))
                for _ in batch:
                    self.samples.popleft()
                self.counts["samples"] += len(batch)
                backoff.reset()
            await asyncio.sleep(max(0.0, next_sample - time.monotonic()))

    # --- events: traffic in, outbox out -------------------------------------------------------

    async def _generate(self) -> None:
        traffic = self.config.traffic
        assert traffic is not None and self.traffic is not None
        sources: list[str | None] = [*self.cameras] or [None]
        while self.generating:
            if traffic.max_events and self.outbox.stats()["generated"] >= traffic.max_events:
                return
            now_ms = int(time.time() * 1000)
            rate_per_s = traffic.events_per_minute / 60
            if traffic.rush_hours:
                rate_per_s *= rush_factor(now_ms, self.traffic.zone)
            await asyncio.sleep(random.expovariate(rate_per_s))
            source = random.choice(sources)
            seen = self.traffic.observe(source or "gateway", int(time.time() * 1000))
            fields = dict(seen.fields)
            if source is None:
                del fields["deviceId"]  # the gateway's own event
            self.outbox.add(source or "", functools.partial(_event_body, fields), seen.evidence)
            self.work.set()

    async def _forward(self) -> None:
        backoff = Backoff()
        while True:
            await self._online()
            try:
                sent = await self._send_batch()
                uploaded = await self._send_evidence()
            except RETRYABLE as exc:
                await self._retrying(backoff, "forwarding", exc)
                continue
            backoff.reset()
            if not sent and not uploaded:
                self.work.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.work.wait(), 1.0)

    async def _send_batch(self) -> int:
        items = self.outbox.unsent(self.config.batch)
        if not items:
            return 0
        answer = await self.client.events.ingest(events=[msgspec.Raw(item.body) for item in items])
        stored = {
            r.external_id: r.id for r in answer.receipts if r.status != "REJECTED" and r.external_id and r.id
        }
        rejected = [r.external_id for r in answer.receipts if r.status == "REJECTED" and r.external_id]
        for receipt in answer.receipts:
            if receipt.status == "REJECTED":
                log.warning("%s: event refused: %s", self.name, receipt.error)
        self.outbox.acknowledge(stored, rejected)
        return len(items)

    async def _send_evidence(self) -> int:
        items = self.outbox.awaiting_evidence(10)
        for item in items:
            assert item.evidence is not None and item.event_id is not None
            self.outbox.evidence_done(item.seq, await self._upload_evidence(item.event_id, item.evidence))
        return len(items)

    async def _upload_evidence(self, event_id: str, image: bytes) -> bool:
        """Upload and verify one image; True once verified, False when refused for good."""
        try:
            slot = await self.client.events.create_evidence_upload(
                event_id=event_id,
                kind="OVERVIEW_IMAGE",
                content_type="image/jpeg",
                size=len(image),
                sha256=_sha256(image),
            )
        except tvms_client.ConflictError:
            return True  # verified by an earlier run that crashed before noting it
        except (
            tvms_client.PreconditionFailedError,
            tvms_client.NotFoundError,
            tvms_client.InvalidParamsError,
        ) as exc:
            log.warning("%s: evidence of %s refused: %s", self.name, event_id, exc)
            return False
        await self._put(slot.upload_url, image, slot.headers)
        evidence = await self.client.events.complete_evidence_upload(event_id=event_id, key=slot.key)
        return evidence.state == "VERIFIED"

    async def _put(self, url: str, data: bytes, headers: dict[str, str]) -> None:
        """Upload to a signed URL, trying again at once when a pooled connection was closed
        under us. An object already there (an earlier try that lost its answer) is fine: the
        server checks the stored bytes against their SHA-256 afterwards."""
        backoff = Backoff(base_s=0.2, cap_s=2.0)
        for attempt in range(3):
            try:
                response = await self.http.put(self._absolute(url), content=data, headers=headers)
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await backoff.wait()
                continue
            if response.status_code != 409:
                response.raise_for_status()
            return

    # --- commands -----------------------------------------------------------------------------

    async def _commands(self) -> None:
        backoff = Backoff()
        while True:
            await self._online()
            try:
                answer = await self.client.devices.poll_commands(wait_s=self.config.poll_wait_s)
            except RETRYABLE as exc:
                await self._retrying(backoff, "command poll", exc)
                continue
            backoff.reset()
            for command in answer.commands:
                await self._execute(command)

    async def _report(self, command: models.DeviceCommand, **fields: Any) -> None:
        """Report, retrying on network failures (a repeated final report is harmless)."""
        backoff = Backoff(cap_s=5.0)
        for _ in range(8):
            await self._online()
            try:
                await self.client.devices.report_command(id=command.id, attempt=command.attempt, **fields)
                return
            except RETRYABLE as exc:
                await self._retrying(backoff, "command report", exc)
            except tvms_client.ConflictError as exc:  # expired, or a newer attempt took over
                log.info("%s: command %s: %s", self.name, command.id, exc)
                return

    async def _execute(self, command: models.DeviceCommand) -> None:
        self.counts["commands"] += 1
        await self._report(command, state="RUNNING")
        order = command.command
        try:
            if isinstance(order, models.Ping):
                await self._report(
                    command, state="SUCCEEDED", result={"pong": True, "uptimeS": self.uptime_s()}
                )
            elif isinstance(order, models.Reboot):
                await asyncio.sleep(min(order.delay_s, 5))
                if command.device_id not in {child.device_id for child in self.config.children}:
                    self.started = time.monotonic()  # the gateway itself restarts: uptime from 0
                await self._report(command, state="SUCCEEDED", result={"rebooted": True, "at": now_iso()})
            elif isinstance(order, models.Snapshot):
                await self._snapshot(command, order)
            else:
                self.settings.setdefault(command.device_id, {}).update(order.settings)
                await self._report(command, state="SUCCEEDED", result={"applied": len(order.settings)})
        except RETRYABLE as exc:
            await self._report(command, state="FAILED", error=f"the upload failed: {type(exc).__name__}")

    async def _snapshot(self, command: models.DeviceCommand, order: models.Snapshot) -> None:
        zone = self.traffic.zone if self.traffic is not None else UTC
        local = datetime.now(zone)
        image = scene_jpeg(
            [command.device_id, f"{local:%Y-%m-%d %H:%M:%S %Z}", "SNAPSHOT"],
            width=order.width,
            height=order.height,
        )
        slot = await self.client.devices.create_snapshot_upload(
            id=command.id, attempt=command.attempt, size=len(image), sha256=_sha256(image)
        )
        await self._put(slot.upload_url, image, slot.headers)
        artifact = models.ArtifactIn(key=slot.key, size=len(image), sha256=_sha256(image))
        await self._report(command, state="SUCCEEDED", result={"bytes": len(image)}, artifact=artifact)
