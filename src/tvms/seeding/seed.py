"""What `tvms seed --demo` and `tvms create-user` do: accounts (and the demo city) made from the
command line, with the API's own checks (password policy, licence limit, audit row).

Demo data exists only on request: `seed` without `--demo` does nothing. `create-user` reads the
password from stdin with `--password-stdin` (never echoed, never logged) and otherwise prompts
for it twice. Both apply migrations first and leave an audit row (actor: the command line).
The arguments are defined in `tvms.seeding.command`; each `run_*` takes `(args, config)` and
returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

import msgspec

from procedures.audit.log import OK, Entry, write_entry
from procedures.auth.fields import Email, Name, Role, normalize_email
from procedures.auth.policy import POLICY_KEYS, policy_problem
from procedures.system.license import read_license_file
from procedures.users.store import add_user
from tvms.clock import Clock
from tvms.config import Config
from tvms.db import Database, IntegrityError, open_database
from tvms.db.migrate import run_migrations
from tvms.ids import new_id
from tvms.rpc import RpcError
from tvms.security.passwords import Passwords
from tvms.seeding.demo_city import DemoCity, seed_demo_city
from tvms.seeding.demo_events import progress_bar, seed_demo_events

DEMO_ID = "admin-001"
DEMO_EMAIL = "admin@itms.solutions"
DEMO_PASSWORD = "Admin@123"  # documented demo credentials; only ever created by `seed --demo`


class CommandError(Exception):
    """A one-line message for the terminal; the command exits with status 1."""


class NewUser(msgspec.Struct, kw_only=True):
    email: Email
    role: Role
    first_name: Name
    last_name: Name


async def _password_settings(db: Database) -> dict[str, Any]:
    rows = await db.fetch("SELECT key, value FROM settings")
    return {row["key"]: msgspec.json.decode(row["value"]) for row in rows if row["key"] in POLICY_KEYS}


async def create_user(
    db: Database,
    user: NewUser,
    password: str,
    *,
    clock: Clock,
    max_users: int,
    rounds: int,
    user_id: str | None = None,
) -> str:
    """Insert a user after the same checks as `users.create` (bcrypt cost `rounds`); returns the new id."""
    problem = policy_problem(password, await _password_settings(db))
    if problem is not None:
        raise CommandError(f"password {problem}")
    email = normalize_email(user.email)
    password_hash = await Passwords(rounds).hash(password)
    user_id = user_id or new_id()
    try:
        await add_user(
            db,
            {
                "id": user_id,
                "email": email,
                "hash": password_hash,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "role": user.role,
                "now": clock.now_ms(),
            },
            max_users,
        )
    except IntegrityError:
        raise CommandError(f"a user with the email {email} already exists") from None
    except RpcError as exc:
        raise CommandError(exc.message) from None
    return user_id


async def seed_demo(db: Database, clock: Clock, *, rounds: int) -> bool:
    """Create the documented demo ADMIN unless it exists; True when it was created."""
    exists = await db.fetchval(
        "SELECT 1 FROM users WHERE id = :id OR email = :email", {"id": DEMO_ID, "email": DEMO_EMAIL}
    )
    if exists is not None:
        return False
    user = NewUser(email=DEMO_EMAIL, role="ADMIN", first_name="System", last_name="Administrator")
    await create_user(db, user, DEMO_PASSWORD, clock=clock, max_users=-1, rounds=rounds, user_id=DEMO_ID)
    return True


async def _audit(db: Database, clock: Clock, procedure: str, target_id: str) -> None:
    entry = Entry(
        at=clock.now_ms(), procedure=procedure, outcome=OK, target_id=target_id, detail={"via": "cli"}
    )
    await write_entry(db, entry)


async def _open(config: Config) -> Database:
    await run_migrations(config)
    return await open_database(config.resolved_database_url)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CommandError("the passwords do not match")
    return first


def run_create_user(args: argparse.Namespace, config: Config) -> int:
    try:
        user = msgspec.convert(
            {
                "email": args.email,
                "role": args.role,
                "first_name": args.first_name,
                "last_name": args.last_name,
            },
            NewUser,
        )
    except msgspec.ValidationError as exc:
        print(f"tvms: invalid user: {exc}", file=sys.stderr)
        return 1
    try:
        password = _read_password(args.password_stdin)

        async def main() -> str:
            db = await _open(config)
            try:
                clock = Clock()
                max_users = read_license_file(config.license_file).max_users
                user_id = await create_user(
                    db, user, password, clock=clock, max_users=max_users, rounds=config.bcrypt_rounds
                )
                await _audit(db, clock, "cli.createUser", user_id)
                return user_id
            finally:
                await db.close()

        user_id = asyncio.run(main())
    except CommandError as exc:
        print(f"tvms: {exc}", file=sys.stderr)
        return 1
    print(f"tvms: created {user.role} {normalize_email(user.email)} (id {user_id})")
    return 0


def run_seed(args: argparse.Namespace, config: Config) -> int:
    if not args.demo:
        print("tvms: nothing to seed; `tvms seed --demo` creates the demo data", file=sys.stderr)
        return 0
    if args.events < 0:
        print("tvms: --events must be zero or more", file=sys.stderr)
        return 2

    async def main() -> tuple[bool, DemoCity, int]:
        db = await _open(config)
        try:
            clock = Clock()
            created = await seed_demo(db, clock, rounds=config.bcrypt_rounds)
            if created:
                await _audit(db, clock, "cli.seedDemo", DEMO_ID)
            print("tvms: demo city (locations with their sensors)", file=sys.stderr)
            city = await seed_demo_city(db, clock.now_ms(), progress=progress_bar("locations"))
            events = 0
            if args.events:
                print(f"tvms: {args.events:,} demo events", file=sys.stderr)
                events = await seed_demo_events(
                    db, args.events, now_ms=clock.now_ms(), progress=progress_bar()
                )
            return created, city, events
        finally:
            await db.close()

    try:
        created, city, events = asyncio.run(main())
    except CommandError as exc:
        print(f"tvms: {exc}", file=sys.stderr)
        return 1
    if created:
        print(f"tvms: created the demo administrator {DEMO_EMAIL} (id {DEMO_ID}); change its password")
    else:
        print(f"tvms: the demo administrator {DEMO_EMAIL} already exists; unchanged")
    print(
        f"tvms: demo city: {city.locations_created} new of {city.locations_total} locations,"
        f" {city.sensors_created} new of {city.sensors_total} sensors; {events:,} events added"
    )
    return 0
