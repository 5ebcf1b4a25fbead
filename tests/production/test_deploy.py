"""The deployment recipes in deploy/ are valid as shipped (the scale-out test runs haproxy.cfg)."""

from __future__ import annotations

import configparser
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server import ROOT
from tvms.cli import require_shared_secret
from tvms.config import ConfigError, load_config

DEPLOY = ROOT / "deploy"


def haproxy_env(bind: str, stats: str, replicas: list[str]) -> dict[str, str]:
    """The environment deploy/haproxy.cfg reads."""
    env = {"TVMS_LB_BIND": bind, "TVMS_LB_STATS_BIND": stats}
    env.update({f"TVMS_REPLICA_{n}": address for n, address in enumerate(replicas, start=1)})
    return env


def test_the_haproxy_configuration_is_valid() -> None:
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is missing: .ci/run installs it (apt-get install -y haproxy)"
    env = haproxy_env("127.0.0.1:1", "127.0.0.1:2", ["127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"])
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WARNING" not in checked.stdout + checked.stderr


def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    text = (DEPLOY / "tvms.service").read_text()
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(text)
    service = unit["Service"]
    assert service["ExecStart"].split()[1:] == ["serve"]
    assert service["EnvironmentFile"] == "/etc/tvms/tvms.env"
    assert service["RestartPreventExitStatus"] == "2"  # configuration errors exit 2
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # containers without systemd: the parse above is the check
        return
    # verify wants the program to exist: point ExecStart at this environment's `tvms`.
    tvms = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "tvms"
    copy = tmp_path / "tvms.service"
    copy.write_text(text.replace("/opt/tvms/bin/tvms", str(tvms if tvms.exists() else shutil.which("true"))))
    verified = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr


def _example_environment() -> dict[str, str]:
    """The example's variables as a shell sourcing it sees them (the README's install steps run
    `set -a && . /etc/tvms/tvms.env`): a value that the shell would cut short shows up here."""
    sourced = subprocess.run(
        ["bash", "-c", 'set -a && . "$1" && env -0', "bash", str(DEPLOY / "tvms.env.example")],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        check=True,
        timeout=30,
    )
    env = dict(item.split("=", 1) for item in sourced.stdout.decode().split("\0") if "=" in item)
    names = {
        line.partition("=")[0]
        for line in (DEPLOY / "tvms.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert names <= env.keys(), f"lost when sourced: {sorted(names - env.keys())}"
    return {name: env[name] for name in names}


def _on_this_host(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The example with its metrics directory (which the unit's StateDirectory= makes) here."""
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/var/lib/tvms/")
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}


def test_the_example_replica_environment_needs_its_own_secret(tmp_path: Path) -> None:
    """Copied unchanged, the example must not start a replica with a key everyone can read."""
    with pytest.raises(ConfigError, match="TVMS_SECRET_KEY"):
        require_shared_secret(load_config(_on_this_host(_example_environment(), tmp_path)))


def test_the_example_replica_environment_is_accepted_with_a_secret(tmp_path: Path) -> None:
    env = {**_on_this_host(_example_environment(), tmp_path), "TVMS_SECRET_KEY": secrets.token_hex(32)}
    config = load_config(env)  # raises ConfigError (one line naming the variable) when not
    require_shared_secret(config)
    assert config.database_url.startswith("postgresql://") and config.storage_url.startswith("s3://")
    assert "region=us-east-1" in config.storage_url  # the whole URL, past its `&`
    assert config.report_lease_s == 60.0
