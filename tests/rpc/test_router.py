"""Composing routers: `Router(prefix, include=[...])` makes a new router; the parts stay as they were."""

from __future__ import annotations

import pytest

from procedures import api
from tvms.rpc import PUBLIC, Context, Router, flatten


def _part(prefix: str, *names: str) -> Router:
    router = Router(prefix)
    for name in names:

        async def handler(ctx: Context) -> int:
            """A fixture procedure."""
            return 1

        router.query(name, auth=PUBLIC)(handler)
    return router


def test_include_builds_a_new_router_and_leaves_the_parts_alone() -> None:
    reads, writes = _part("things", "get", "list"), _part("things", "create")
    things = Router("things", include=[reads, writes])
    assert [p.name for p in things.walk()] == ["things.get", "things.list", "things.create"]
    assert things.procedures == []  # its own: it has none
    assert [p.name for p in reads.procedures] == ["things.get", "things.list"]
    assert [p.name for p in writes.procedures] == ["things.create"]
    assert list(flatten([reads])) == ["things.get", "things.list"]
    assert list(flatten([things])) == ["things.get", "things.list", "things.create"]


def test_own_procedures_come_first_then_the_included_ones_in_order() -> None:
    later = _part("things", "b")
    things = Router("things", include=[later])

    @things.query("a", auth=PUBLIC)
    async def a(ctx: Context) -> int:
        """Its own."""
        return 1

    assert [p.name for p in things.walk()] == ["things.a", "things.b"]


def test_nested_prefixes_compose_at_any_depth() -> None:
    zone = _part("system.timezone", "get")
    deep = _part("system.timezone.rules", "list")
    timezone = Router("system.timezone", include=[zone, deep])
    system = Router("system", include=[_part("system", "health"), timezone])
    assert list(flatten([system])) == ["system.health", "system.timezone.get", "system.timezone.rules.list"]


@pytest.mark.parametrize("outside", ["other", "systems", "sys"])
def test_a_router_only_includes_routers_under_its_prefix(outside: str) -> None:
    with pytest.raises(ValueError, match=rf"router 'system' cannot include '{outside}'"):
        Router("system", include=[Router(outside)])


def test_include_takes_routers_only() -> None:
    with pytest.raises(TypeError, match="include= takes Router values"):
        Router("system", include=["system.health"])  # type: ignore[list-item]


def test_a_duplicate_between_included_routers_fails_loudly() -> None:
    first, second = _part("things", "get"), _part("things", "list", "get")
    things = Router("things", include=[first, second])
    with pytest.raises(ValueError, match=r"'things\.get' is registered twice"):
        flatten([things])


def test_a_duplicate_between_levels_fails_loudly() -> None:
    nested = Router("things", include=[_part("things", "get")])
    outer = Router("things", include=[nested, _part("things", "get")])
    with pytest.raises(ValueError, match=r"'things\.get' is registered twice"):
        flatten([outer])
    with pytest.raises(ValueError, match=r"'things\.get' is registered twice"):
        flatten([nested, _part("things", "get")])


def test_the_api_serves_one_router_per_top_level_namespace() -> None:
    prefixes = [router.prefix for router in api().routers]
    assert prefixes == [
        "system",
        "settings",
        "auth",
        "users",
        "audit",
        "sensors",
        "locations",
        "events",
        "storage",
        "reports",
        "commands",
        "devices",
        "metrics",
    ]
    for router in api().routers:
        assert all(p.name.split(".")[0] == router.prefix for p in router.walk()), router.prefix
