"""The package as an operator gets it: a wheel built from the repository, installed into a fresh
virtual environment in a directory outside the checkout, runs migrate and serve from there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from tests.server import ROOT, free_port, live_server

# What a build needs; copied so that building writes nothing into the checkout.
SOURCES = ("pyproject.toml", "README.md", "src", "procedures")
INSTALL_TIMEOUT_S = 110


def _build_wheel(work: Path) -> Path:
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(source)],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    (wheel,) = (work / "dist").glob("tvms-*.whl")
    return wheel


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing back at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TVMS_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def test_the_wheel_installs_and_serves_outside_the_checkout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "tvms/db/schema.sql" in names
    schema = ROOT / "src" / "tvms" / "db" / "schema.sql"
    assert zipfile.ZipFile(wheel).read("tvms/db/schema.sql") == schema.read_bytes()
    assert "procedures/system/license.py" in names
    console = ROOT / "src" / "tvms" / "console_dist"
    if console.is_dir():  # built by the console's build step; shipped when present
        assert "tvms/console_dist/index.html" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    # This environment's pip installs into the new one (`--python`); no byte-compiling and
    # wheels only keep the install to unpacking (botocore alone is thousands of modules).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-compile",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
        env=_clean_env(),
    )
    site = tmp_path / "site"
    site.mkdir()
    env = _clean_env(TVMS_DATA_DIR=str(site / "data"), TVMS_SECRET_KEY="s" * 40, TVMS_LOG_LEVEL="warning")
    tvms = str(venv / "bin" / "tvms")

    where = "import tvms, procedures; print(tvms.__file__, procedures.__file__)"
    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", where],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in located and str(venv) in located

    migrated = subprocess.run(
        [tvms, "migrate"], cwd=site, env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "schema version" in migrated.stdout

    port = free_port()
    serve = [tvms, "serve", "--port", str(port)]
    with live_server(env, tmp_path / "serve.log", port=port, cwd=site, command=serve) as server:
        answer = httpx.post(
            f"{server.url}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "system.getLicense"}, timeout=10
        ).json()
        assert answer["result"]["valid"] is True
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        if console.is_dir():
            assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
