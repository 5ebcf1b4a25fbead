"""A disposable server for `tvms conformance --write`: `tvms serve` on a new temporary data dir
(SQLite, local files) with the demo data, on a free loopback port; removed on exit.

The environment's database and storage settings are dropped for the child processes, so the
writing examples can never reach the database or store that `TVMS_*` points at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_DROPPED = ("TVMS_DATABASE_URL", "TVMS_STORAGE_URL", "TVMS_PUBLIC_URL", "TVMS_SECRET_KEY", "TVMS_PORT")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def own_server(timeout: float = 60.0) -> Iterator[str]:
    """Yield the base URL of a fresh, seeded server that nothing else uses."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="tvms-conformance-") as directory:
        data = Path(directory)
        env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
        env.update({"TVMS_DATA_DIR": str(data / "data"), "TVMS_HOST": "127.0.0.1"})
        command = [sys.executable, "-m", "tvms"]
        subprocess.run(
            [*command, "seed", "--demo"], env=env, cwd=data, check=True, capture_output=True, timeout=timeout
        )
        port = _free_port()
        with (data / "serve.log").open("wb") as log:
            process = subprocess.Popen(
                [*command, "serve", "--port", str(port)], env=env, cwd=data, stdout=log, stderr=log
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    log_text = (data / "serve.log").read_text(errors="replace")
                    raise RuntimeError(f"the server exited with {process.returncode}: {log_text[-2000:]}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within {timeout} s")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
