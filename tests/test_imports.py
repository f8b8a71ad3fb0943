"""The import graph of kb_agent has no circle (issue #13): module imports, including those made
inside functions, point one way. Imports under ``if TYPE_CHECKING:`` are annotations only and
do not count."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kb_agent"


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(tree: ast.AST, known: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(nodes) -> None:
        for n in nodes:
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n.test):
                continue
            if isinstance(n, ast.Import):
                found.update(a.name for a in n.names if a.name in known)
            elif isinstance(n, ast.ImportFrom) and n.module:
                found.update(x for x in [n.module, *(f"{n.module}.{a.name}" for a in n.names)] if x in known)
            for name in ("body", "orelse", "finalbody", "handlers"):
                sub = getattr(n, name, None)
                if isinstance(sub, list):
                    visit(sub)

    visit(tree.body)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_kb_agent_has_no_import_circle():
    mods = _modules()
    graph = {m: _imports(ast.parse(f.read_text(encoding="utf-8")), set(mods)) - {m} for m, f in mods.items()}
    assert cycles(graph) == []
