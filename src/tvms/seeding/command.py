"""The `tvms seed` and `tvms create-user` subcommands: their arguments.

What they do is in `tvms.seeding.seed`, imported when one of them runs: it uses the API package
(`procedures`), which `tvms --help` and the other subcommands should not have to load.
"""

from __future__ import annotations

import argparse
from typing import Any

from tvms.config import Config

ROLES = ("ADMIN", "OPERATOR", "VIEWER")
"""`procedures.auth.fields.ROLES`, repeated so that building the parser imports no API module
(tests/users/test_cli.py keeps the two equal)."""


def _run_seed(args: argparse.Namespace, config: Config) -> int:
    from tvms.seeding.seed import run_seed

    return run_seed(args, config)


def _run_create_user(args: argparse.Namespace, config: Config) -> int:
    from tvms.seeding.seed import run_create_user

    return run_create_user(args, config)


def register(commands: Any) -> None:
    """Add `seed` and `create-user` to the CLI's argparse sub-parsers."""
    seed = commands.add_parser("seed", help="create demo data (only with --demo)")
    seed.add_argument(
        "--demo",
        action="store_true",
        help="create the documented demo administrator and a demo city (safe to run twice)",
    )
    seed.add_argument("--events", type=int, default=0, metavar="N", help="also add N realistic demo events")
    seed.set_defaults(run=_run_seed)
    create = commands.add_parser("create-user", help="create a user (the password is never echoed)")
    create.add_argument("--email", required=True, help="the e-mail address the user signs in with")
    create.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    create.add_argument("--first-name", required=True, help="shown in the console and the audit log")
    create.add_argument("--last-name", required=True, help="shown in the console and the audit log")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    create.set_defaults(run=_run_create_user)
