"""A worker that lost its lease (stalled past it, then taken over) cannot touch the new owner's
file; a killed worker's temporary files are removed at the next start."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from procedures.reports import render, report_worker
from procedures.reports import worker as worker_module
from procedures.reports.worker import ReportWorker, sweep_temporary_files
from tests.reports.conftest import NOW
from tests.reports.test_restart import insert_running
from tests.support import running_app
from tvms.app import Api
from tvms.clock import ManualClock
from tvms.config import Config


async def test_a_worker_that_lost_its_lease_leaves_the_new_owners_file_alone(
    config: Config, test_api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await insert_running(database_url, "contested", attempts=0, lease_until=NOW - 1)
    original = render.write_report
    stalled = anyio.Event()
    resume = anyio.Event()
    calls = {"n": 0}

    async def first_call_stalls(*args: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:  # worker A: stalls (a long GC pause, a frozen VM) past its lease
            stalled.set()
            await resume.wait()
        return await original(*args)

    monkeypatch.setattr(render, "write_report", first_call_stalls)
    clock = ManualClock(NOW)
    manual = dataclasses.replace(test_api, hooks=[h for h in test_api.hooks if h is not report_worker])
    async with running_app(config, manual, clock) as app:
        services = app.state.services
        db = services.db
        first = ReportWorker(services, poll_interval=3600)
        second = ReportWorker(services, poll_interval=3600)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(first.run)  # recovers the expired row, claims it: attempt 1
                await stalled.wait()
                clock.advance(config.report_lease_s + 1)  # A's lease runs out
                group.start_soon(second.run)  # requeues it, claims it: attempt 2, finishes
                status = None
                while status != "READY":  # the new owner finishes while A still stalls
                    await anyio.sleep(0.02)
                    status = await db.fetchval("SELECT status FROM reports WHERE id = 'contested'")
                row = await db.fetchrow(
                    "SELECT file_key, size_bytes, attempts FROM reports WHERE id = 'contested'"
                )
                assert row["attempts"] == 2
                owners_file = await services.storage.get(row["file_key"])
                resume.set()  # A wakes up and finishes its (stale) work
                while True:
                    await anyio.sleep(0.02)
                    if not first.running:
                        break
                first.stop()
                second.stop()
        assert row["file_key"] == "reports/contested.attempt-2.csv"
        assert await services.storage.get(row["file_key"]) == owners_file  # neither deleted nor overwritten
        assert len(owners_file) == row["size_bytes"]
        keys = [info.key for info in (await services.storage.list("reports/")).items]
        assert keys == ["reports/contested.attempt-2.csv"]  # A stored nothing of its own either
        after = await db.fetchrow("SELECT status, file_key FROM reports WHERE id = 'contested'")
        assert (after["status"], after["file_key"]) == ("READY", row["file_key"])


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that was SIGKILLed (as a worker killed mid-report)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.kill()
    child.wait()
    return child.pid


def test_temporary_files_of_stopped_processes_are_swept(tmp_path: Path, dead_pid: int) -> None:
    live_pid = os.getppid()  # pytest's parent: running
    leftover = tmp_path / f"tvms-report-p{dead_pid}-r1-x.part"
    running = tmp_path / f"tvms-report-p{live_pid}-r2-y.part"
    own = tmp_path / f"tvms-report-p{os.getpid()}-r3-z.part"
    unrelated = tmp_path / "tvms-report-notes.part"
    for path in (leftover, running, own, unrelated):
        path.write_text("partial")
    assert sweep_temporary_files(tmp_path) == 1
    assert not leftover.exists()
    assert running.exists() and own.exists() and unrelated.exists()


async def test_a_killed_workers_temporary_file_is_removed_at_start_up(
    config: Config, test_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead_pid: int
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(worker_module.tempfile, "gettempdir", lambda: str(temporary))
    leftover = temporary / f"tvms-report-p{dead_pid}-r1-{'x' * 8}.part"
    leftover.write_bytes(b"%PDF-1.4 half a report")
    async with running_app(config, test_api, ManualClock(NOW)):
        assert not leftover.exists()
