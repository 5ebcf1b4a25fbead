"""The client as an outsider uses it: installed into a fresh venv, driving a real `tvms serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS
from tests.server import ROOT, live_server

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

    # Signed in as the first user: the administrator `tvms seed --demo` created.
    session = client.login("admin@itms.solutions", "Admin@123")
    assert isinstance(session, models.LoginResult) and session.user.role == "ADMIN", session
    assert client.token == session.token
    assert client.auth.me().email == "admin@itms.solutions"

    place = client.locations.create(
        name="Scenario crossing",
        address="Abay Ave & Scenario St, Almaty",
        type="INTERSECTION",
        latitude=43.2389,
        longitude=76.9286,
    )
    assert isinstance(place, models.Location) and place.sensor_count == 0, place
    camera = client.sensors.create(
        name="Scenario camera 1",
        device_id="SCENARIO-CAM-1",
        type="CAMERA",
        location_id=place.id,
        coordinates=models.CoordinatesInput(latitude=43.2389, longitude=76.9286),
    )
    assert isinstance(camera, models.SensorWithKey) and camera.api_key, camera
    assert camera.location_id == place.id and camera.status == "OFFLINE", camera
    cameras = client.sensors.get_all(take=20, type="CAMERA")
    assert cameras.sensors[0].id == camera.id, cameras.sensors[0]  # the newest first
    assert all(s.type == "CAMERA" for s in cameras.sensors) and cameras.total > 20, cameras.total

    # Five calls in one request, signed in; the unknown location fails alone.
    with client.batch() as batch:
        found = batch.sensors.get_by_id(id=camera.id)
        at = batch.locations.get_by_id(id=place.id)
        stats = batch.sensors.get_stats()
        me = batch.auth.me()
        missing = batch.locations.get_by_id(id="no-such-location")
    assert found.result().location is not None and found.result().location.id == place.id
    assert [s.id for s in at.result().sensors] == [camera.id]
    assert stats.result().by_type["CAMERA"] == cameras.total
    assert me.result().id == session.user.id
    try:
        missing.result()
    except tvms_client.NotFoundError:
        pass
    else:
        raise AssertionError("locations.getById found an unknown id")

    # Typed errors: an unknown id, and a bad value refused to a signed-in ADMIN.
    try:
        client.sensors.get_by_id(id="no-such-sensor")
    except tvms_client.NotFoundError as exc:
        assert exc.code == -32004 and exc.error_name == "NOT_FOUND" and "no-such-sensor" in exc.message
    else:
        raise AssertionError("sensors.getById found an unknown id")
    try:
        client.system.timezone.update_timezone_settings(timezone="Mars/Olympus")
    except tvms_client.InvalidParamsError as exc:
        assert exc.code == -32602 and "$.timezone" in str(exc.data), exc.data
    else:
        raise AssertionError("updateTimezoneSettings accepted Mars/Olympus")
    assert client.system.timezone.get_timezone_settings().timezone == "Asia/Almaty"
    camera_id = camera.id


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

        session = await client.login("admin@itms.solutions", "Admin@123")
        assert client.token == session.token
        sensor = await client.sensors.get_by_id(id=camera_id)
        assert sensor.device_id == "SCENARIO-CAM-1" and sensor.children == [], sensor
        assert (await client.settings.get_feature_flags()) is not None
        assert (await client.auth.logout()).success is True
        try:
            await client.auth.me()
        except tvms_client.UnauthorizedError:
            pass
        else:
            raise AssertionError("the token still works after auth.logout")


asyncio.run(main())
print("scenario: ok")
"""


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    """`tvms serve` on a free loopback port, stopped afterwards; its first user made by the real CLI."""
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "warning",
    }
    seed = subprocess.run(
        [sys.executable, "-m", "tvms", "seed", "--demo"],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stdout + seed.stderr
    assert "created the demo administrator admin@itms.solutions" in seed.stdout, seed.stdout
    with live_server(env, tmp_path / "server.log", cwd=tmp_path) as live:
        yield live.url


def test_the_installed_client_drives_a_real_server(tmp_path: Path, server: str) -> None:
    source = tmp_path / "tvms-client"
    shutil.copytree(
        CLIENTS / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    # The fresh venv must see only what it installs: not this checkout through PYTHONPATH.
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        check=False,
        env=clean,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False, env=clean
    )
    assert check.returncode == 0, check.stdout
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    run = subprocess.run(
        [str(python), str(script), server],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "scenario: ok" in run.stdout
