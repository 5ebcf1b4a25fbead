"""SQL for `users.*` and the CLI: reading users as wire Structs, and the writes' invariants."""

from __future__ import annotations

from typing import Any

from procedures.schemas import IsoTime, Output
from tvms.clock import iso_ms
from tvms.db import Database, Row, Transaction
from tvms.rpc import ErrorCode, RpcError

USER_COLUMNS = "id, email, first_name, last_name, role, disabled, created_at, updated_at, last_login_at"
# Serialises user-administration transactions on PostgreSQL (licence count, last-admin rule);
# SQLite's single writer (BEGIN IMMEDIATE) already does.
_USERS_LOCK_KEY = 0x7475_6D73_7573_72  # "tvmsusr"


class User(Output):
    id: str
    email: str
    first_name: str
    last_name: str
    role: str
    disabled: bool
    created_at: IsoTime
    updated_at: IsoTime
    last_login_at: IsoTime | None


def to_user(row: Row) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        role=row["role"],
        disabled=bool(row["disabled"]),
        created_at=iso_ms(row["created_at"]),
        updated_at=iso_ms(row["updated_at"]),
        last_login_at=None if row["last_login_at"] is None else iso_ms(row["last_login_at"]),
    )


async def lock_users(db: Database, tx: Transaction) -> None:
    """Take the user-administration lock for the rest of this transaction (PostgreSQL)."""
    if db.engine == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _USERS_LOCK_KEY})


async def fetch_user(db: Database | Transaction, user_id: str) -> Row:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = :id", {"id": user_id})
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"User {user_id[:100]!r} not found")
    return row


async def other_active_admins(tx: Transaction, user_id: str) -> int:
    value = await tx.fetchval(
        "SELECT COUNT(*) FROM users WHERE role = 'ADMIN' AND disabled = FALSE AND id <> :id",
        {"id": user_id},
    )
    return int(value or 0)


async def insert_user(tx: Transaction, values: dict[str, Any]) -> None:
    """Insert a user row (`values`: id, email, hash, first_name, last_name, role, now)."""
    await tx.execute(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, disabled,"
        " token_version, password_changed_at, created_at, updated_at)"
        " VALUES (:id, :email, :hash, :first_name, :last_name, :role, FALSE, 0, :now, :now, :now)",
        values,
    )


async def add_user(db: Database, values: dict[str, Any], max_users: int) -> None:
    """One transaction: the licence's `maxUsers`, then the row (`values` as for `insert_user`).

    IntegrityError when the email is taken; PRECONDITION_FAILED when the licence is full.
    """
    async with db.transaction() as tx:
        await lock_users(db, tx)
        check_user_limit(int(await tx.fetchval("SELECT COUNT(*) FROM users") or 0), max_users)
        await insert_user(tx, values)


def check_user_limit(count: int, max_users: int) -> None:
    """The licence's `maxUsers` (-1 = unlimited)."""
    if 0 <= max_users <= count:
        raise RpcError(
            ErrorCode.PRECONDITION_FAILED,
            f"The licence allows at most {max_users} users",
            maxUsers=max_users,
        )
