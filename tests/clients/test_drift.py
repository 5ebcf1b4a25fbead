"""The checked-in clients are exactly what `tvms gen-client` writes today."""

from __future__ import annotations

from pathlib import Path

from procedures import api
from tests.clients.conftest import CLIENTS
from tvms.clientgen import generate_all
from tvms.rpc import flatten

# Left by tools, never by the generator.
IGNORED_PARTS = {"node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", "build", "dist"}


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not IGNORED_PARTS & set(path.relative_to(root).parts)
        and not any(part.endswith(".egg-info") for part in path.parts)
    }


def test_checked_in_clients_match_a_fresh_generation(tmp_path: Path) -> None:
    generate_all(flatten(api().routers), tmp_path)
    fresh, checked_in = _files(tmp_path), _files(CLIENTS)
    assert fresh, "the generator wrote nothing"
    for name in sorted(fresh.keys() | checked_in.keys()):
        if name not in checked_in:
            raise AssertionError(f"clients/{name} is missing: run `make client` (tvms gen-client)")
        if name not in fresh:
            raise AssertionError(f"clients/{name} is not produced by the generator: remove it")
        if fresh[name] != checked_in[name]:
            raise AssertionError(f"clients/{name} is stale: run `make client` (tvms gen-client)")


def test_generation_is_deterministic(tmp_path: Path) -> None:
    registry = flatten(api().routers)
    generate_all(registry, tmp_path / "one")
    generate_all(registry, tmp_path / "two")
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_regenerating_in_place_changes_nothing(tmp_path: Path) -> None:
    registry = flatten(api().routers)
    generate_all(registry, tmp_path)
    assert generate_all(registry, tmp_path) == []
