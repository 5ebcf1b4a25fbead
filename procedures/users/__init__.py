"""`users.*`: user administration (ADMIN only). Password hashes never leave the database."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from procedures.auth.fields import Email, Name, Password, Role, UserId, normalize_email
from procedures.auth.lockout import clear_attempts
from procedures.auth.mfa import remove_factor
from procedures.auth.policy import check_new_password
from procedures.auth.sessions import bump_token_version, forget_user
from procedures.paging import like_contains, page_count
from procedures.schemas import Input, Output
from procedures.system.license import current_license
from procedures.users.store import (
    USER_COLUMNS,
    User,
    add_user,
    fetch_user,
    lock_users,
    other_active_admins,
    to_user,
)
from tvms.db import IntegrityError
from tvms.ids import new_id
from tvms.rpc import Context, ErrorCode, Router, RpcError, invalid_params, roles

users = Router("users")
ADMIN = roles("ADMIN")

__all__ = ["User", "users"]

SORT_COLUMNS = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "role": "role",
    "createdAt": "created_at",
}


class UsersGetAllInput(Input):
    skip: Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)] = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    search: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    role: Role | None = None
    sort_by: Literal["email", "firstName", "lastName", "role", "createdAt"] = "createdAt"
    sort_order: Literal["asc", "desc"] = "desc"


class UserPage(Output):
    users: list[User]
    total: int
    page_count: int


class UserIdInput(Input):
    id: UserId


class UserCreateInput(Input):
    email: Email
    password: Password
    first_name: Name
    last_name: Name
    role: Role


class UserUpdateInput(Input):
    id: UserId
    first_name: Name | UnsetType = UNSET
    last_name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


class UserResetPasswordInput(Input):
    id: UserId
    new_password: Password


class UserDeleteResult(Output):
    id: str
    deleted: bool


class UserMfaResetResult(Output):
    id: str
    reset: bool
    """False when the user had no second factor (nothing changed)."""


def _caller_id(ctx: Context) -> str:
    if ctx.principal is None:  # the ADMIN rule guarantees a principal
        raise RpcError(ErrorCode.UNAUTHORIZED, "Authentication required")
    return ctx.principal.id


@users.query("getAll", auth=ADMIN)
async def get_all(ctx: Context, input: UsersGetAllInput) -> UserPage:
    """Users page by page; `search` matches e-mail, first or last name (case-insensitive)."""
    where: list[str] = []
    params: dict[str, Any] = {"take": input.take, "skip": input.skip}
    if input.search:
        where.append(
            "(email LIKE :search ESCAPE '\\' OR LOWER(first_name) LIKE :search ESCAPE '\\'"
            " OR LOWER(last_name) LIKE :search ESCAPE '\\')"
        )
        params["search"] = like_contains(input.search.lower())
    if input.role is not None:
        where.append("role = :role")
        params["role"] = input.role
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    order = "DESC" if input.sort_order == "desc" else "ASC"
    column = SORT_COLUMNS[input.sort_by]
    total = int(await ctx.db.fetchval("SELECT COUNT(*) FROM users" + clause, params) or 0)
    rows = await ctx.db.fetch(
        f"SELECT {USER_COLUMNS} FROM users{clause} ORDER BY {column} {order}, id {order}"
        " LIMIT :take OFFSET :skip",
        params,
    )
    return UserPage(
        users=[to_user(row) for row in rows], total=total, page_count=page_count(total, input.take)
    )


@users.query("getById", auth=ADMIN)
async def get_by_id(ctx: Context, input: UserIdInput) -> User:
    """One user by id."""
    return to_user(await fetch_user(ctx.db, input.id))


@users.mutation("create", auth=ADMIN)
async def create(ctx: Context, input: UserCreateInput) -> User:
    """Create a user. The licence's `maxUsers` applies; an e-mail already in use is a CONFLICT."""
    await check_new_password(ctx, input.password, "$.password")
    email = normalize_email(input.email)
    if await ctx.db.fetchval("SELECT 1 FROM users WHERE email = :email", {"email": email}) is not None:
        raise RpcError(ErrorCode.CONFLICT, "A user with this email already exists")
    max_users = (await current_license(ctx)).max_users
    # Hash before the transaction: bcrypt takes ~250 ms and must not hold the write lock.
    password_hash = await ctx.services.passwords.hash(input.password)
    user_id = new_id()
    now = ctx.clock.now_ms()
    try:
        await add_user(
            ctx.db,
            {
                "id": user_id,
                "email": email,
                "hash": password_hash,
                "first_name": input.first_name,
                "last_name": input.last_name,
                "role": input.role,
                "now": now,
            },
            max_users,
        )
    except IntegrityError:
        raise RpcError(ErrorCode.CONFLICT, "A user with this email already exists") from None
    return to_user(await fetch_user(ctx.db, user_id))


@users.mutation("update", auth=ADMIN)
async def update(ctx: Context, input: UserUpdateInput) -> User:
    """Change a user's names, role or disabled flag.

    You cannot change your own role or disable yourself, and the last enabled ADMIN stays one.
    A role change or disabling ends every session of that user.
    """
    changes: dict[str, Any] = {}
    for field, column in (
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("role", "role"),
        ("disabled", "disabled"),
    ):
        value = getattr(input, field)
        if value is not UNSET:
            changes[column] = value
    if not changes:
        raise invalid_params("$", "give at least one field to change")
    me = _caller_id(ctx)
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        await lock_users(ctx.db, tx)
        row = await fetch_user(tx, input.id)
        new_role = changes.get("role", row["role"])
        new_disabled = bool(changes.get("disabled", bool(row["disabled"])))
        role_changed = new_role != row["role"]
        disabling = new_disabled and not bool(row["disabled"])
        if input.id == me and (role_changed or disabling):
            raise RpcError(ErrorCode.FORBIDDEN, "You cannot change your own role or disable yourself")
        was_active_admin = row["role"] == "ADMIN" and not bool(row["disabled"])
        stays_active_admin = new_role == "ADMIN" and not new_disabled
        if was_active_admin and not stays_active_admin and await other_active_admins(tx, input.id) == 0:
            raise RpcError(
                ErrorCode.PRECONDITION_FAILED, "The last enabled ADMIN cannot be demoted or disabled"
            )
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        await tx.execute(
            f"UPDATE users SET {assignments}, updated_at = :now WHERE id = :id",
            {**changes, "now": now, "id": input.id},
        )
        if role_changed or disabling:
            await bump_token_version(tx, input.id, now)
    forget_user(ctx.services, input.id)
    if input.id == me:
        # Only names can change for yourself, but later batch items must see the user as it is now.
        ctx.credentials_changed()
    return to_user(await fetch_user(ctx.db, input.id))


@users.mutation("delete", auth=ADMIN)
async def delete(ctx: Context, input: UserIdInput) -> UserDeleteResult:
    """Delete a user (never yourself, never the last enabled ADMIN); their sessions end at once."""
    if input.id == _caller_id(ctx):
        raise RpcError(ErrorCode.FORBIDDEN, "You cannot delete your own account")
    async with ctx.db.transaction() as tx:
        await lock_users(ctx.db, tx)
        row = await fetch_user(tx, input.id)
        if (
            row["role"] == "ADMIN"
            and not bool(row["disabled"])
            and await other_active_admins(tx, input.id) == 0
        ):
            raise RpcError(ErrorCode.PRECONDITION_FAILED, "The last enabled ADMIN cannot be deleted")
        await tx.execute("DELETE FROM users WHERE id = :id", {"id": input.id})
        await tx.execute("DELETE FROM login_attempts WHERE email = :email", {"email": row["email"]})
    forget_user(ctx.services, input.id)
    return UserDeleteResult(id=input.id, deleted=True)


@users.mutation("resetPassword", auth=ADMIN)
async def reset_password(ctx: Context, input: UserResetPasswordInput) -> User:
    """Set another user's password (ends their sessions and lifts a login lockout).

    For your own password use `auth.changePassword`, which asks for the current one.
    """
    if input.id == _caller_id(ctx):
        raise RpcError(ErrorCode.FORBIDDEN, "Use auth.changePassword to change your own password")
    await check_new_password(ctx, input.new_password, "$.newPassword")
    row = await fetch_user(ctx.db, input.id)
    password_hash = await ctx.services.passwords.hash(input.new_password)
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE users SET password_hash = :hash, password_changed_at = :now, updated_at = :now"
            " WHERE id = :id",
            {"hash": password_hash, "now": now, "id": input.id},
        )
        if changed == 0:
            raise RpcError(ErrorCode.NOT_FOUND, f"User {input.id[:100]!r} not found")
        await bump_token_version(tx, input.id, now)
    forget_user(ctx.services, input.id)
    await clear_attempts(ctx, row["email"])
    return to_user(await fetch_user(ctx.db, input.id))


@users.mutation("resetMfa", auth=ADMIN)
async def reset_mfa(ctx: Context, input: UserIdInput) -> UserMfaResetResult:
    """Remove another user's second factor and recovery codes (a lost authenticator).

    Their sessions and sign-ins in progress end; they sign in with their password and, when
    `security.mfaEnabled` is on, enrol again. For your own factor use `auth.mfa.disable`.
    """
    if input.id == _caller_id(ctx):
        raise RpcError(ErrorCode.FORBIDDEN, "Use auth.mfa.disable for your own second factor")
    now = ctx.clock.now_ms()
    async with ctx.db.transaction() as tx:
        await fetch_user(tx, input.id)
        removed = await remove_factor(tx, input.id)
        if removed:
            await bump_token_version(tx, input.id, now)
    if removed:
        forget_user(ctx.services, input.id)
    return UserMfaResetResult(id=input.id, reset=removed)
