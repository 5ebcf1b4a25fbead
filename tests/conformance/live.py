"""Real server processes on a free 127.0.0.1 port, for the end-to-end conformance tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def python_path() -> str:
    parts = [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(part for part in parts if part)


@contextmanager
def running(
    args: Sequence[str], port: int, log: Path, env: dict[str, str], cwd: Path, timeout: float = 30.0
) -> Iterator[str]:
    """Start `python args…`, wait until GET /healthz answers 200, yield the base URL, stop it."""
    base = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **env, "PYTHONPATH": python_path()}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, *args], cwd=cwd, env=full_env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer within {timeout} s:\n{log.read_text()}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
