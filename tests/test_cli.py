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


def _readme() -> str:
    return (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_help_and_the_readme_list_every_environment_variable() -> None:
    import re

    from tvms import config

    names = set(re.findall(r'"(TVMS_[A-Z_]+)"', Path(config.__file__).read_text()))
    assert {"TVMS_PUBLIC_URL", "TVMS_RATE_LIMIT", "TVMS_BODY_BUFFER_BYTES"} <= names
    root_help = tvms("--help", env={}).stdout
    table = {row.split("`")[1] for row in _readme().splitlines() if row.startswith("| `TVMS_")}
    for name in names:
        assert re.search(rf"^  {name}\s", root_help, re.MULTILINE), f"`tvms --help` leaves out {name}"
        assert name in table, f"the README's configuration table leaves out {name}"
    assert "AWS_*" in root_help and "| `AWS_*` |" in _readme()


def test_the_agent_config_format_is_documented_in_full() -> None:
    import re

    from tvms.edge.config import AgentConfig, Child, Traffic

    agent_help = tvms("agent", "--help", env={}).stdout
    readme = _readme()
    for struct in (AgentConfig, Child, Traffic):
        for name in struct.__struct_fields__:
            if name == "base_dir":  # set from the file's place, not a key
                continue
            assert re.search(rf"^\s+(\[+)?{name}\b", agent_help, re.MULTILINE), f"agent --help: {name}"
            documented = f"`{name}`" in readme or f"`[[{name}]]`" in readme or f"`[{name}]`" in readme
            assert documented, f"the README's agent table leaves out {name}"


def test_the_readme_agent_example_produces_events(tmp_path: Path) -> None:
    from tvms.edge.config import load_agent_config

    readme = _readme()
    example = readme.split("**The agent.**", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "gw.toml").write_text(example)
    config = load_agent_config(tmp_path / "gw.toml")
    assert config.traffic is not None and config.traffic.events_per_minute > 0
    assert [child.device_id for child in config.children] == ["ALA-CAM-0003"]


def test_simulate_help_gives_defaults_and_the_readme_every_flag() -> None:
    import argparse

    from tvms.edge.command import add_simulate_arguments

    help_text = " ".join(tvms("simulate", "--help", env={}).stdout.split())
    assert "(default: http://127.0.0.1:8000)" in help_text and "(default: 6.0)" in help_text
    flags = argparse.ArgumentParser(add_help=False)
    add_simulate_arguments(flags)
    row = next(line for line in _readme().splitlines() if line.startswith("| `tvms simulate"))
    for action in flags._actions:
        assert f"{action.option_strings[0]} " in row, (
            f"the README's simulate row leaves out {action.option_strings[0]}"
        )


# What `tvms --help` and the tools must not load: the API and the HTTP server stack.
_NOT_AT_IMPORT = ("procedures", "starlette", "uvicorn", "hypercorn", "tvms.app", "tvms.server")
_PROBE = """
import sys
{code}
heavy = {heavy!r}
print("-- modules --", *sorted(m for m in sys.modules if m.partition(".")[0] in heavy or m in heavy))
"""


def _loaded_after(code: str) -> list[str]:
    """The modules of `_NOT_AT_IMPORT` (or in those packages) that a fresh interpreter holds
    after running `code`."""
    probe = _PROBE.format(code=code, heavy=_NOT_AT_IMPORT)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.rpartition("-- modules --")[2].split()


def test_importing_the_cli_loads_neither_the_api_nor_the_server() -> None:
    assert _loaded_after("import tvms.cli") == []
    # The probe does see them once they are imported.
    assert "procedures" in _loaded_after("import tvms.cli, procedures")


_RUN_HELP = """
from tvms.cli import main
try:
    main({args!r})
except SystemExit as exit:
    assert exit.code == 0, exit.code
"""


@pytest.mark.parametrize("args", [["--help"], ["create-user", "--help"], ["seed", "--help"]])
def test_help_works_without_the_api(args: list[str]) -> None:
    assert _loaded_after(_RUN_HELP.format(args=args)) == []
    shown = tvms(*args, env={})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: tvms")
