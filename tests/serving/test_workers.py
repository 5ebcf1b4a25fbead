"""`tvms serve --workers 2` on each server: metrics summed over the workers (and kept when one
dies), the periodic work in exactly one process, taken over when that process is killed
(uvicorn restarts a dead worker and keeps serving; hypercorn stops all workers when one dies)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.server import LiveServer, free_port, live_server

SERVERS = ["uvicorn", "hypercorn"]
STARTUP = 90.0  # the machine may be busy: a slow start is not what these tests check
WAIT = 30.0
LEADER = re.compile(r"periodic work: this process \(pid (\d+)\) runs it")
CALLS = 'tvms_rpc_calls_total{procedure="system.getLicense",outcome="OK"} '


def _workers(server: LiveServer) -> set[int]:
    """The worker processes under the server's main process."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = set()
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
            found.add(int(child))
    return found


def _leaders(server: LiveServer) -> list[int]:
    return [int(pid) for pid in LEADER.findall(server.stderr)]


def _count(server: LiveServer) -> int:
    text = httpx.get(f"{server.url}/metrics").text
    line = next((line for line in text.splitlines() if line.startswith(CALLS)), None)
    return 0 if line is None else int(line.removeprefix(CALLS))


def _until(condition: object, what: str, server: LiveServer) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {WAIT} s:\n{server.stderr[-3000:]}")


@pytest.mark.parametrize("name", SERVERS)
def test_two_workers_share_metrics_and_one_runs_the_periodic_work(
    name: str, tmp_path: Path, database_url: str
) -> None:
    env = {
        "TVMS_SERVER": name,
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_SECRET_KEY": secrets.token_urlsafe(48),  # every worker must share it
    }
    port = free_port()
    args = ["-m", "tvms", "serve", "--port", str(port), "--workers", "2"]
    with live_server(env, tmp_path / "serve.log", args=args, port=port, timeout=STARTUP) as server:
        _until(lambda: len(_workers(server)) == 2, "two workers", server)
        call = {"jsonrpc": "2.0", "method": "system.getLicense", "id": 1}
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.post(f"{server.url}/rpc", json=call).status_code == 200
        scrapes = [_count(server) for _ in range(6)]
        assert scrapes == [40] * 6  # each scrape, whichever worker answers, sums both

        _until(lambda: len(_leaders(server)) >= 1, "a process taking the periodic work", server)
        time.sleep(5)  # more than two rounds of the others trying the lock
        leaders = _leaders(server)
        assert len(leaders) == 1 and leaders[0] in _workers(server), server.stderr

        if name == "hypercorn":
            return  # hypercorn stops every worker when one dies: its supervisor restarts the lot
        os.kill(leaders[0], signal.SIGKILL)
        _until(lambda: len(_leaders(server)) == 2, "another process taking the periodic work over", server)
        assert _leaders(server)[1] != leaders[0]
        assert _count(server) == 40  # the dead worker's calls still count: never backwards
        assert httpx.post(f"{server.url}/rpc", json=call).status_code == 200
        assert _count(server) == 41
