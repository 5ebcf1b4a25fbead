"""The `tvms` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.server import live_server


def tvms(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tvms", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        ({"TVMS_PORT": "eighty"}, ["serve"], "tvms: TVMS_PORT must be a whole number, got 'eighty'"),
        ({}, ["serve", "--port", "0"], "tvms: --port must be between 1 and 65535, got 0"),
        ({"TVMS_DATABASE_URL": "oracle://x"}, ["migrate"], "tvms: TVMS_DATABASE_URL must start with"),
    ],
)
def test_bad_configuration_exits_with_one_line(
    env: dict[str, str], extra: dict[str, str], args: list[str], message: str
) -> None:
    done = tvms(*args, env={**env, **extra})
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    done = tvms("migrate", env={**env, "TVMS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    assert done.returncode == 2
    assert done.stderr.startswith("tvms: cannot open the database")
    assert "Traceback" not in done.stderr


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    first = tvms("migrate", env=env)
    second = tvms("migrate", env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    assert first.stdout.startswith("tvms: database at schema version ")


def test_openrpc_prints_the_document(env: dict[str, str]) -> None:
    done = tvms("openrpc", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["openrpc"].startswith("1.3")
    names = {method["name"] for method in document["methods"]}
    assert {"system.getLicense", "system.timezone.getTimezoneSettings", "settings.update"} <= names


def test_serve_answers_over_real_http_and_stops_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    with live_server(env, tmp_path / "serve.log") as server:
        response = httpx.post(
            f"{server.url}/rpc",
            json={"jsonrpc": "2.0", "method": "system.getLicense", "id": 7},
            headers={"x-request-id": "trace-42"},
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "trace-42"
        assert response.json()["result"]["type"] == "enterprise" and response.json()["id"] == 7
        got = httpx.get(f"{server.url}/rpc/system.timezone.getTimezoneSettings", params={"input": "{}"})
        assert got.json()["result"]["timezone"] == "Asia/Almaty"
    stderr = server.stderr
    assert server.process.returncode == 0, stderr
    calls = [json.loads(line) for line in stderr.splitlines() if line.startswith("{") and '"call"' in line]
    assert any(
        c.get("procedure") == "system.getLicense"
        and c.get("requestId") == "trace-42"
        and c.get("outcome") == "OK"
        for c in calls
    ), stderr


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        (
            {"TVMS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
            ["serve"],
            "tvms: TVMS_SECRET_KEY must be set when serving from PostgreSQL",
        ),
        ({}, ["serve", "--workers", "2"], "tvms: TVMS_SECRET_KEY must be set to serve with 2 workers"),
        ({"TVMS_WORKERS": "3"}, ["serve"], "tvms: TVMS_SECRET_KEY must be set to serve with 3 workers"),
    ],
)
def test_serving_several_processes_without_a_shared_secret_is_refused(
    env: dict[str, str], extra: dict[str, str], args: list[str], message: str
) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "TVMS_SECRET_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "tvms", *args],
        env={**environment, **env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (Path(env["TVMS_DATA_DIR"]) / "secret.key").exists()  # refused before generating one


def test_version() -> None:
    from tvms import __version__

    done = tvms("--version", env={})
    assert done.returncode == 0 and done.stdout.strip() == f"tvms {__version__}"


def test_every_subcommand_explains_itself_and_its_flags() -> None:
    import argparse

    from tvms.cli import parser

    (commands,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"serve", "migrate", "openrpc", "gen-client", "seed", "create-user"} <= set(commands.choices)
    for name, command in commands.choices.items():
        assert command.description, f"`tvms {name} --help` has no description"
        for action in command._actions:
            assert action.help, f"`tvms {name}`: {action.option_strings or action.dest} has no help"
    root_help = tvms("--help", env={}).stdout
    assert "TVMS_SECRET_KEY" in root_help and "TVMS_BCRYPT_ROUNDS" in root_help


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TVMS_BCRYPT_ROUNDS", "abc", "tvms: TVMS_BCRYPT_ROUNDS must be a whole number, got 'abc'"),
        ("TVMS_BCRYPT_ROUNDS", "99", "tvms: TVMS_BCRYPT_ROUNDS must be between 4 and 31, got 99"),
        ("TVMS_MAX_BATCH", "-1", "tvms: TVMS_MAX_BATCH must be between 1 and 10000, got -1"),
        ("TVMS_LOG_LEVEL", "loud", "tvms: TVMS_LOG_LEVEL must be debug, info, warning or error"),
        ("TVMS_STORAGE_URL", "ftp://x", "tvms: TVMS_STORAGE_URL must start with file:// or s3://"),
    ],
)
def test_every_environment_variable_is_checked_at_start(
    env: dict[str, str], name: str, value: str, message: str
) -> None:
    done = tvms("migrate", env={**env, name: value})
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
