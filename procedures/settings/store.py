"""Reading and writing setting values: the catalog's defaults overlaid with stored changes.

Other routers read settings through `get_value`; the whole table is cached (it is small and
read on hot paths such as login) and the cache is dropped on every write.
"""

from __future__ import annotations

from typing import Any

import msgspec

from procedures.settings.catalog import BY_KEY, DEFINITIONS, Definition
from tvms.rpc import Context, ErrorCode, RpcError, Services, invalid_params

_CACHE_KEY = "settings:stored"


class Stored(msgspec.Struct, frozen=True):
    value: Any
    updated_at: int
    updated_by: str | None


async def _load(ctx: Context | Services) -> dict[str, Stored]:
    rows = await ctx.db.fetch("SELECT key, value, updated_at, updated_by FROM settings")
    stored = {}
    for row in rows:
        if row["key"] in BY_KEY:  # a setting removed from the catalog is ignored, not an error
            stored[row["key"]] = Stored(
                msgspec.json.decode(row["value"]), row["updated_at"], row["updated_by"]
            )
    return stored


async def stored_values(ctx: Context | Services) -> dict[str, Stored]:
    return await ctx.cache.get_or_load(_CACHE_KEY, lambda: _load(ctx))


async def get_value(ctx: Context | Services, key: str) -> Any:
    """The current value of one setting (its default unless an administrator changed it).

    Also usable with the process's `Services` outside a call (the bearer-token resolver).
    """
    stored = (await stored_values(ctx)).get(key)
    return BY_KEY[key].default if stored is None else stored.value


def definition(key: str) -> Definition:
    found = BY_KEY.get(key)
    if found is None:
        raise RpcError(ErrorCode.NOT_FOUND, f"No setting named {key[:100]!r}")
    return found


def check_value(item: Definition, value: Any, path: str = "$.value") -> None:
    """Raise INVALID_PARAMS unless `value` fits the setting's type and rule."""
    problem = item.problem(value)
    if problem is not None:
        raise invalid_params(path, f"{item.key} {problem}")


async def write_values(ctx: Context, values: dict[str, Any]) -> None:
    """Store several settings in one transaction (all or none), already checked."""
    for key in values:
        if not BY_KEY[key].is_editable:
            raise RpcError(ErrorCode.PRECONDITION_FAILED, f"Setting {key} cannot be changed")
    now = ctx.clock.now_ms()
    actor = ctx.principal.id if ctx.principal is not None else None
    async with ctx.db.transaction() as tx:
        for key, value in values.items():
            await tx.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by)"
                " VALUES (:key, :value, :now, :actor)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                {"key": key, "value": msgspec.json.encode(value).decode(), "now": now, "actor": actor},
            )
    ctx.cache.invalidate("settings:")


async def reset_values(ctx: Context, keys: list[str]) -> None:
    async with ctx.db.transaction() as tx:
        for key in keys:
            await tx.execute("DELETE FROM settings WHERE key = :key", {"key": key})
    ctx.cache.invalidate("settings:")


def all_definitions() -> tuple[Definition, ...]:
    return DEFINITIONS
