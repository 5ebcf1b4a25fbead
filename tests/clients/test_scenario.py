"""The client as an outsider uses it: installed into a fresh venv, driving a real `tvms serve`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clients.conftest import CLIENTS, ROOT

SCENARIO = """
import asyncio
import sys

import tvms_client
from tvms_client import AsyncClient, Client, models

url = sys.argv[1]
assert "site-packages" in tvms_client.__file__, tvms_client.__file__

with Client(url, timeout=10) as client:
    licence = client.system.get_license()
    assert isinstance(licence, models.License) and licence.max_users == -1, licence
    tz = client.system.timezone.get_timezone_settings()
    assert tz.timezone == "Asia/Almaty" and tz.use_24_hour_format is True, tz

    # One HTTP request, five calls; the anonymous settings.getAll fails alone.
    with client.batch() as batch:
        calls = [
            batch.system.get_license(),
            batch.system.timezone.get_timezone_settings(),
            batch.system.health(),
            batch.system.get_settings(),
            batch.settings.get_all(),
        ]
    assert calls[0].result().organization == "ITMS Solutions"
    assert calls[1].result().date_format == "DD/MM/YYYY"
    assert calls[2].result().status in ("ok", "degraded")
    assert any(s.key == "app.name" for s in calls[3].result())
    try:
        calls[4].result()
    except tvms_client.UnauthorizedError as exc:
        assert exc.code == -32001 and exc.error_name == "UNAUTHORIZED"
    else:
        raise AssertionError("settings.getAll answered an anonymous caller")

    # A typed error: an administrator-only mutation without signing in.
    try:
        client.system.timezone.update_timezone_settings(timezone="Mars/Olympus")
    except tvms_client.UnauthorizedError:
        pass
    else:
        raise AssertionError("updateTimezoneSettings answered an anonymous caller")

    # The same call with a bad bearer token: still typed, still UNAUTHORIZED.
    client.token = "not-a-token"
    try:
        client.system.timezone.update_timezone_settings(timezone="Europe/Berlin")
    except tvms_client.RpcError as exc:
        assert isinstance(exc, tvms_client.UnauthorizedError), repr(exc)
    client.token = None


async def main() -> None:
    async with AsyncClient(url, timeout=10) as client:
        health = await client.system.health()
        assert health.checks.database.status == "ok", health
        zones = await client.system.timezone.list_timezones()
        assert "Europe/Berlin" in zones.timezones
        async with client.batch() as batch:
            licence = batch.system.get_license()
            settings = batch.system.get_settings()
        assert licence.result().max_sensors == -1 and settings.result()
        try:
            await client.settings.get_feature_flags()
        except tvms_client.UnauthorizedError:
            pass
        else:
            raise AssertionError("settings.getFeatureFlags answered an anonymous caller")


asyncio.run(main())
print("scenario: ok")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    """`tvms serve` on a free loopback port, stopped afterwards."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "warning",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tvms", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("tvms serve did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_installed_client_drives_a_real_server(tmp_path: Path, server: str) -> None:
    source = tmp_path / "tvms-client"
    shutil.copytree(
        CLIENTS / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    run = subprocess.run(
        [str(python), str(script), server],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "scenario: ok" in run.stdout
