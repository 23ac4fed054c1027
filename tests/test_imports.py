"""The package's import structure: one direction, no cycles, no reaching into private names.

Every ``import`` of every module of topokit is read from its source (``ast``), those inside
functions included: an import moved into a function to dodge a cycle is still an edge.
Three rules (docs/development.md, "Which way imports run"):

- the imports between topokit's modules form no cycle;
- no module imports another subpackage's private module or private name (a name starting
  with ``_`` belongs to the package that holds it; top-level private modules such as
  ``topokit._errors`` belong to ``topokit`` and so to everyone);
- the layers import downward only: the graph core knows nothing of training, studies,
  interop or the CLI; ``nn`` knows nothing of studies; only the CLI imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "topokit"

# What each part of the package may not import (by dotted prefix).
GRAPH_CORE = (
    "topokit.graph",
    "topokit._graph_file",
    "topokit.spectrum",
    "topokit.allocation",
    "topokit.generators",
    "topokit.topology",
    "topokit.io",
    "topokit.metrics",
    "topokit.draw",
)
_OUTSIDE_THE_CORE = ("topokit.nn", "topokit.analysis", "topokit.interop", "topokit.cli")
FORBIDDEN = [(core, _OUTSIDE_THE_CORE) for core in GRAPH_CORE] + [
    ("topokit.graph", ("topokit.topology", "topokit.generators", "topokit.io", "topokit.metrics")),
    (
        "topokit.spectrum",
        ("topokit.topology", "topokit.generators", "topokit.io", "topokit.metrics"),
    ),
    (
        "topokit.allocation",
        ("topokit.topology", "topokit.generators", "topokit.io", "topokit.metrics"),
    ),
    ("topokit.generators", ("topokit.topology", "topokit.io", "topokit.metrics", "topokit.draw")),
    ("topokit.topology", ("topokit.io", "topokit.metrics", "topokit.draw")),
    ("topokit.nn", ("topokit.analysis", "topokit.cli")),
    ("topokit.interop", ("topokit.analysis", "topokit.cli")),
    ("topokit.analysis", ("topokit.cli",)),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if path.name != "conftest.py"  # pytest's, not the package's (kept out of the wheel)
}
PACKAGES = {_module_name(p) for p in MODULES.values() if p.name == "__init__.py"}


def _home(module: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    return module if module in PACKAGES else module.rsplit(".", 1)[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for each topokit import of a module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                parts = _home(module).split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(
                    (sub, None, node.lineno) if sub in MODULES else (base, alias.name, node.lineno)
                )
    return [(target, name, line) for target, name, line in found if target in MODULES]


IMPORTS = {module: _imports(module) for module in MODULES}


def test_the_package_is_found():
    assert {"topokit", "topokit.graph", "topokit.nn.mlp", "topokit.cli"} <= set(MODULES)


def _edges() -> dict[str, set[str]]:
    edges = {module: set() for module in MODULES}
    for module, imports in IMPORTS.items():
        for target, _, _ in imports:
            # a module of a package that imports its own package's __init__ is not an edge:
            # Python has already run it by then
            if target != module and not (target in PACKAGES and module.startswith(target + ".")):
                edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert _cycles(_edges()) == []


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_import_across_packages(module):
    mine = _home(module)
    problems = []
    for target, name, line in IMPORTS[module]:
        parts = target.split(".")
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            if _is_private(part) and not (mine == owner or mine.startswith(owner + ".")):
                problems.append(f"line {line}: the private module {target}")
        if name and _is_private(name) and _home(target) != mine:
            problems.append(f"line {line}: the private name {name} from {target}")
    assert problems == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_downward(module):
    forbidden = [
        prefix
        for part, prefixes in FORBIDDEN
        if module == part or module.startswith(part + ".")
        for prefix in prefixes
    ]
    wrong = [
        f"line {line}: {target}"
        for target, _, line in IMPORTS[module]
        if any(target == prefix or target.startswith(prefix + ".") for prefix in forbidden)
    ]
    assert wrong == []
