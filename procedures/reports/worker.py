"""The background worker that produces queued reports: an `Api` hook, one per process.

- At start-up, and at every poll, jobs whose lease ran out (their process stopped or crashed)
  are queued again, or FAILED with a reason once they used MAX_ATTEMPTS: none stays RUNNING.
- Jobs are claimed with a conditional UPDATE, so several processes can share one database.
- A running job renews its lease; a job deleted while running stops at its next write and
  its file is removed. On a graceful shutdown running jobs go back to the queue.
- The file is written to a temporary file page by page, then stored under its attempt's key
  (`jobs.file_key`): a worker that lost its lease can only write or delete its own attempt's
  object, never the one the new owner writes. It checks the lease again before storing.
- Temporary files are named `tvms-report-p{pid}-….part`; at start-up the files of processes that
  no longer run (killed, so their cleanup never ran) are removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread

from procedures.reports import jobs, render
from procedures.state import state_of
from tvms.ids import new_id
from tvms.rpc import Services
from tvms.storage.base import ObjectTooLarge

log = logging.getLogger("tvms.reports")

TEMP_PREFIX = "tvms-report-p"

PROGRESS_EVERY_S = 0.5
STOP_GRACE_S = 10.0


class JobLost(Exception):
    """The job was deleted (or taken over after our lease ran out) while we worked on it."""


class Stopping(Exception):
    """The process is shutting down: the job goes back to the queue."""


class ReportWorker:
    def __init__(self, services: Services, *, concurrency: int = 2, poll_interval: float = 2.0) -> None:
        self.services = services
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id()}"
        self.lease_ms = int(services.config.report_lease_s * 1000)  # TVMS_REPORT_LEASE_S
        self.running: set[str] = set()
        self._wake = anyio.Event()
        self._stopping = anyio.Event()
        self.stopped = anyio.Event()
        self._idle = anyio.Event()

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Begin a graceful stop: no new claims; running jobs stop at their next step."""
        self._stopping.set()
        self._wake.set()

    async def recover(self) -> None:
        requeued, failed = await jobs.recover(self.services.db, self.services.clock.now_ms())
        if requeued or failed:
            log.warning("reports: %d interrupted report(s) queued again, %d failed", requeued, failed)

    async def run(self) -> None:
        # Database calls are never cancelled half-way (a stop is cooperative): a query abandoned
        # on SQLite's driver thread would complete after the event loop closed.
        async with anyio.create_task_group() as group:
            while not self._stopping.is_set():
                with anyio.CancelScope(shield=True):
                    await self._poll(group)
                with anyio.move_on_after(self.poll_interval):
                    await self._wake.wait()
                self._wake = anyio.Event()
            # Running jobs notice the stop at their next step (or are cancelled after the grace).
            self._idle = anyio.Event()
            if self.running:
                await self._idle.wait()
        self.stopped.set()

    async def _poll(self, group: anyio.abc.TaskGroup) -> None:
        try:
            await self.recover()
            free = self.concurrency - len(self.running)
            if free > 0:
                for report_id in await jobs.queued_ids(self.services.db, free):
                    now = self.services.clock.now_ms()
                    if await jobs.claim(self.services.db, report_id, self.owner, now, self.lease_ms):
                        self.running.add(report_id)
                        group.start_soon(self._execute, report_id)
        except Exception:  # a failing poll (database briefly away) must not stop the worker
            log.exception("reports: polling for queued reports failed")

    async def _execute(self, report_id: str) -> None:
        db, clock = self.services.db, self.services.clock
        path = Path(tempfile.gettempdir()) / f"{TEMP_PREFIX}{os.getpid()}-{report_id}-{new_id()}.part"
        try:
            row = await jobs.fetch(db, report_id)
            if row is None:
                return
            job = jobs.to_job(row)
            rows = await self._produce(job, path)
            if self._stopping.is_set():
                raise Stopping(report_id)
            size = (await anyio.to_thread.run_sync(path.stat)).st_size
            data = await anyio.to_thread.run_sync(path.read_bytes)
            renewed = {"lease_until": clock.now_ms() + self.lease_ms}
            if not await jobs.update_running(db, report_id, self.owner, renewed):
                raise JobLost(report_id)  # taken over (or deleted) while we wrote: store nothing
            await self.services.storage.put(job.key, data, jobs.CONTENT_TYPES[job.format])
            del data
            now = clock.now_ms()
            done = await jobs.update_running(
                db,
                report_id,
                self.owner,
                {
                    "status": "READY",
                    "progress": 100,
                    "file_key": job.key,
                    "size_bytes": size,
                    "row_count": rows,
                    "finished_at": now,
                    "updated_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                },
            )
            if not done:
                raise JobLost(report_id)
            log.info("reports: %s ready (%d rows, %d bytes)", report_id, rows, size, extra=_fields(report_id))
            for stale in jobs.attempt_keys(job.id, job.format, job.attempts - 1):
                with contextlib.suppress(Exception):  # earlier attempts killed after storing
                    await self.services.storage.delete(stale)
        except JobLost:
            log.info(
                "reports: %s was deleted or taken over while it ran; this attempt's file is removed",
                report_id,
                extra=_fields(report_id),
            )
            with contextlib.suppress(Exception):
                await self.services.storage.delete(job.key)
        except (Stopping, anyio.get_cancelled_exc_class()) as exc:
            with anyio.CancelScope(shield=True):
                await jobs.release(db, report_id, self.owner, clock.now_ms())
            log.info("reports: %s goes back to the queue (shutdown)", report_id, extra=_fields(report_id))
            if not isinstance(exc, Stopping):
                raise
        except Exception as exc:
            message = _failure_message(exc)
            log.exception("reports: %s failed", report_id, extra=_fields(report_id))
            now = clock.now_ms()
            with contextlib.suppress(Exception):
                await jobs.update_running(
                    db,
                    report_id,
                    self.owner,
                    {
                        "status": "FAILED",
                        "error": message,
                        "finished_at": now,
                        "updated_at": now,
                        "lease_owner": None,
                        "lease_until": None,
                    },
                )
        finally:
            self.running.discard(report_id)
            if not self.running:
                self._idle.set()
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    async def _produce(self, job: jobs.Job, path: Path) -> int:
        """Write the file while a side task keeps the lease; JobLost when the job disappears."""
        db, clock = self.services.db, self.services.clock
        last = {"percent": -1, "at": 0.0}

        async def progress(percent: int) -> None:
            if self._stopping.is_set():
                raise Stopping(job.id)
            moment = time.monotonic()
            if percent == last["percent"] or moment - last["at"] < PROGRESS_EVERY_S:
                return
            last.update(percent=percent, at=moment)
            still = await jobs.update_running(
                db,
                job.id,
                self.owner,
                {
                    "progress": percent,
                    "lease_until": clock.now_ms() + self.lease_ms,
                    "updated_at": clock.now_ms(),
                },
            )
            if not still:
                raise JobLost(job.id)

        lost = False

        async def keep_lease(scope: anyio.CancelScope) -> None:
            nonlocal lost
            while True:
                await anyio.sleep(self.lease_ms / 3000)
                try:
                    with anyio.CancelScope(shield=True):
                        still = await jobs.update_running(
                            db, job.id, self.owner, {"lease_until": clock.now_ms() + self.lease_ms}
                        )
                except Exception:  # try again next round; the lease outlives a few misses
                    log.exception("reports: renewing the lease of %s failed", job.id, extra=_fields(job.id))
                    continue
                if not still:
                    lost = True
                    scope.cancel()
                    return

        rows = 0
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(keep_lease, group.cancel_scope)
            try:
                rows = await render.write_report(db, job, path, clock.now_ms(), progress)
            except Exception as exc:  # re-raised below as itself, not wrapped in an ExceptionGroup
                failure = exc
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if lost:
            raise JobLost(job.id)
        return rows


def _fields(report_id: str) -> dict[str, object]:
    """`extra=` for a log line about one job: its id as a field of the JSON line."""
    return {"fields": {"jobId": report_id}}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_temporary_files(directory: Path | None = None) -> int:
    """Remove the temporary files of worker processes that no longer run; returns how many.

    A killed process never reaches its `finally`; its partial file would stay forever.
    """
    removed = 0
    for path in Path(directory or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*.part"):
        pid = path.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def _failure_message(exc: Exception) -> str:
    """What the report's owner reads: never the exception text (it may hold internals)."""
    if isinstance(exc, ObjectTooLarge):
        return "The report is larger than the 100 MB storage limit; narrow the period or the filters"
    return "The report could not be generated (internal error); the server log has the details"


@contextlib.asynccontextmanager
async def report_worker(services: Services) -> AsyncIterator[None]:
    """The `Api` hook: recover interrupted jobs, then produce reports until shutdown."""
    worker = ReportWorker(services)
    swept = await anyio.to_thread.run_sync(sweep_temporary_files)
    if swept:
        log.info("reports: removed %d temporary file(s) left by stopped processes", swept)
    try:
        await worker.recover()  # before serving, so no interrupted report is seen RUNNING
    except Exception:  # the database may be away at start; every poll recovers again
        log.exception("reports: recovering interrupted reports failed; retrying at every poll")
    async with anyio.create_task_group() as group:
        state = state_of(services)
        state.report_worker = worker
        group.start_soon(worker.run)
        try:
            yield
        finally:
            state.report_worker = None
            worker.stop()
            with anyio.move_on_after(STOP_GRACE_S):
                await worker.stopped.wait()
            group.cancel_scope.cancel()
