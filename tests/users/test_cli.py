"""`tvms create-user` and `tvms seed --demo` (tvms.seeding), run through argparse."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from procedures.auth.fields import ROLES as API_ROLES
from tests.auth.support import bearer, login, services
from tests.support import result
from tvms.config import Config
from tvms.seeding import register
from tvms.seeding.command import ROLES


async def _run(argv: list[str], config: Config) -> int:
    """The command in a worker thread, as from a terminal (it runs its own event loop)."""
    return await anyio.to_thread.run_sync(_run_sync, argv, config)


def _run_sync(argv: list[str], config: Config) -> int:
    root = argparse.ArgumentParser(prog="tvms")
    register(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(argv)
    code: int = args.run(args, config)
    return code


CREATE = [
    "create-user",
    "--email",
    "Ops@Example.com",
    "--role",
    "OPERATOR",
    "--first-name",
    "Olga",
    "--last-name",
    "Ops",
    "--password-stdin",
]


async def test_create_user_from_stdin(
    app: Starlette,
    client: httpx.AsyncClient,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Cli#Secret9\n"))
    assert await _run(CREATE, config) == 0
    out = capsys.readouterr()
    assert "Cli#Secret9" not in out.out + out.err
    assert "created OPERATOR ops@example.com" in out.out
    token = await login(client, "ops@example.com", "Cli#Secret9")
    me = await result(client, "auth.me", headers=bearer(token))
    assert (me["firstName"], me["lastName"], me["role"]) == ("Olga", "Ops", "OPERATOR")
    row = await services(app).db.fetchrow(
        "SELECT procedure, target_id FROM audit_log WHERE procedure = 'cli.createUser'"
    )
    assert row is not None and row["target_id"] == me["id"]
    # The same address again is refused.
    monkeypatch.setattr("sys.stdin", io.StringIO("Cli#Secret9\n"))
    assert await _run(CREATE, config) == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, stdin, message",
    [
        (CREATE, "weak\n", "password must be at least 8 characters long"),
        (CREATE, "a" * 73 + "Z1\n", "password must be at most 72 bytes in UTF-8"),
        ([*CREATE[:2], "not-an-email", *CREATE[3:]], "Cli#Secret9\n", "invalid user"),
        ([*CREATE[:6], "  ", *CREATE[7:]], "Cli#Secret9\n", "invalid user"),
    ],
)
async def test_create_user_refuses_bad_input(
    app: Starlette,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert await _run(argv, config) == 1
    err = capsys.readouterr().err
    assert message in err and stdin.strip() not in err
    assert await services(app).db.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_create_user_prompts_without_stdin_flag(
    app: Starlette, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["Prompt#Pass1", "Prompt#Pass2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert await _run(CREATE[:-1], config) == 1  # the two entries differ
    answers = iter(["Prompt#Pass1", "Prompt#Pass1"])
    assert await _run(CREATE[:-1], config) == 0


async def test_create_user_respects_the_licence(
    app: Starlette,
    config: Config,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    licence = tmp_path / "licence.json"
    licence.write_text('{"maxUsers": 0}')
    limited = Config(data_dir=config.data_dir, database_url=config.database_url, license_file=licence)
    monkeypatch.setattr("sys.stdin", io.StringIO("Cli#Secret9\n"))
    assert await _run(CREATE, limited) == 1
    assert "at most 0 users" in capsys.readouterr().err


async def test_seed_demo_is_explicit_and_idempotent(
    app: Starlette, client: httpx.AsyncClient, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _run(["seed"], config) == 0
    assert await services(app).db.fetchval("SELECT COUNT(*) FROM users") == 0  # nothing without --demo
    assert await _run(["seed", "--demo"], config) == 0
    assert await _run(["seed", "--demo"], config) == 0
    assert "already exists" in capsys.readouterr().out
    out = await result(client, "auth.login", {"email": "admin@itms.solutions", "password": "Admin@123"})
    assert out["user"] == {
        "id": "admin-001",
        "email": "admin@itms.solutions",
        "firstName": "System",
        "lastName": "Administrator",
        "role": "ADMIN",
    }
    assert await services(app).db.fetchval("SELECT COUNT(*) FROM users") == 1


def test_the_parser_offers_exactly_the_api_roles() -> None:
    """The CLI repeats the role names (so that `tvms --help` imports no API module)."""
    assert ROLES == API_ROLES
