"""A real server process (by default `python -m tvms serve`) on a free 127.0.0.1 port, for the
end-to-end tests: `with live_server(env, log) as server: httpx.get(server.url + "/healthz")`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRET_KEY = "tvms-test-secret-key-0123456789abcdef"  # test servers only (>= 32 bytes)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """One server: `url`, the current `process` and its `stderr` so far (kept in a log file, so a
    chatty server never blocks on a full pipe). `start()` again after a kill restarts it."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        port: int,
        cwd: Path | None,
        timeout: float,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._args = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._timeout = timeout

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "not started"
        return self._process

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        """Start the process (appending to the same log) and wait until GET /healthz answers 200."""
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                self._args, cwd=self._cwd, env=self._env, stdout=subprocess.DEVNULL, stderr=out
            )
        deadline = time.monotonic() + self._timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.stderr}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer within {self._timeout} s:\n{self.stderr}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, SIGKILL if it is still running 20 s later; waits for the process either way."""
        if self._process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def live_server(
    env: Mapping[str, str],
    log: Path,
    *,
    args: Sequence[str] | None = None,
    port: int | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
    command: Sequence[str] | None = None,
) -> Iterator[LiveServer]:
    """`python -m tvms serve --port N` (or `python args…`, which must listen on `port`) with
    `env` over os.environ, running once GET /healthz answers; stopped on exit, after which
    `server.process.returncode` and `server.stderr` tell how it ended.

    `command` instead runs that argv with exactly `env` (nothing of os.environ, no path to the
    checkout): an installed `tvms` as an operator runs it. On PostgreSQL a server must be given
    `TVMS_SECRET_KEY` (it refuses to start without); a fixed test secret is added when absent."""
    if (args is not None or command is not None) and port is None:
        raise TypeError("live_server(args=... or command=...) needs the port they listen on")
    port = port or free_port()
    if command is not None:
        argv, full_env = list(command), dict(env)
    else:
        argv = [sys.executable, *(args or ["-m", "tvms", "serve", "--port", str(port)])]
        # Absolute paths: the process may run in another directory than pytest.
        path = [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        full_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(part for part in path if part)}
    if full_env.get("TVMS_DATABASE_URL", "").startswith("postgres"):
        full_env.setdefault("TVMS_SECRET_KEY", TEST_SECRET_KEY)
    server = LiveServer(argv, full_env, log, port, cwd, timeout)
    try:
        server.start()
        yield server
    finally:
        server.stop()
