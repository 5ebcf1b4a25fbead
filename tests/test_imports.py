"""The modules of `tvms` and `procedures` import each other as a tree (a DAG): no cycles.

The graph is read from the source with `ast`, not by importing, and counts every import a reader
follows: at module level, inside functions (a late import is still a dependency, only a hidden
one), and under `if TYPE_CHECKING:` (the types a module names are part of what it depends on).
An edge goes to the module named: `from a.b import c` depends on `a.b.c` when that is a module,
else on `a.b`. The implicit import of a module's parent packages is not an edge: a package's
`__init__.py` re-exporting its submodules is the package's public face, not a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"tvms": ROOT / "src" / "tvms", "procedures": ROOT / "procedures"}


def module_files() -> dict[str, Path]:
    """Dotted module name → source file, for every module of the checked packages."""
    modules: dict[str, Path] = {}
    for package, directory in PACKAGES.items():
        for path in sorted(directory.rglob("*.py")):
            parts = [package, *path.relative_to(directory).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(module: str, is_package: bool, tree: ast.AST, known: set[str]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in known:  # `import a.b.c` where only `a.b` is ours
                    name = name.rpartition(".")[0]
                if name:
                    yield name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    yield target
                elif base in known:
                    yield base


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[module] = {t for t in _imported(module, is_package, tree, known) if t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles as closed paths: for every module on a cycle, a shortest cycle through
    it (duplicates dropped), so that every tangle shows each of its modules."""
    found: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for component in _tangles(graph):
        for start in sorted(component):
            cycle = _shortest_cycle(graph, component, start)
            first = cycle.index(min(cycle[:-1]))
            key = tuple(cycle[first:-1] + cycle[:first])  # the same cycle from another module
            if key not in seen:
                seen.add(key)
                found.append([*key, key[0]])
    return found


def _tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # recursive: the graph has a few hundred modules
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def _shortest_cycle(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest closed path from `start` back to it inside its component (breadth-first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # unreachable in a strongly connected set


def test_the_imports_form_a_tree() -> None:
    found = cycles(import_graph())
    listing = "\n".join(" -> ".join(cycle) for cycle in found)
    assert not found, f"import cycles ({len(found)}):\n{listing}"


def test_the_checker_sees_imports_in_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from . import b\n"
        "def f():\n    import tvms.c.d\n"
    )
    known = {"tvms", "tvms.a", "tvms.b", "tvms.c"}
    assert set(_imported("tvms.a", False, ast.parse(source), known)) == {"tvms.b", "tvms.c"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["a", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
