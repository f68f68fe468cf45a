"""The data path as the import graph: every import points down it, and none goes round in a cycle.

corpus / score → chord timeline → encoding → model → sampling → notation → files,
with the engine, batch, training and the CLI on top. Imports inside functions
count (a lazy import is still a dependency); imports under ``if TYPE_CHECKING:``
do not (they exist for type hints only).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import music21_melgen

# Lowest first; a module may import modules of its own layer or below.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "atomic"),
    ("timeline",),
    ("corpus_adapters", "parts", "score_harmony", "converters", "form"),  # any source → chord timeline; its form
    ("encoding", "melgen2019_encoding", "controls"),  # timeline → events and per-step tables; the sampling controls
    ("network", "kinds"),  # what sampling asks of a network; the table of model kinds
    ("model", "melgen2019_model", "lstm_network", "window_network"),  # the models (numpy weights) and their torch networks
    ("sampling",),
    ("checkpoint",),
    ("notation",),
    ("files", "midi_io", "midi_musicxml", "musicxml_merge", "reading", "examples"),  # reading and writing score files; the bundled examples
    ("engine",),
    ("accessor", "batch", "training"),
    ("commands", "cli", "__main__", ""),  # "" = the package's own __init__
]
# Importing any submodule runs the package's __init__ first (it registers the
# converters and the accessor), so a module may import the package itself.
PACKAGE = ""
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _files() -> dict[str, Path]:
    """Module name (relative to music21_melgen) → source file, for every module installed."""
    roots = {"": Path(music21_melgen.__file__).parent}
    for package in ("corpus_adapters", "training"):
        roots[package] = Path(importlib.import_module(f"music21_melgen.{package}").__file__).parent
    files = {}
    for prefix, root in roots.items():
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if prefix:
                parts.insert(0, prefix)
            if prefix == "" and parts and parts[0] in ("corpus_adapters", "training"):
                continue
            files[".".join(parts)] = path
    return files


FILES = _files()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _target(name: str) -> str | None:
    """The module of ours that ``name`` (dotted, relative to music21_melgen) is, or lies in."""
    while name not in FILES:
        if "." not in name:
            return name if name == "" else None
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> set[str]:
    """Our modules that ``module`` imports, anywhere but under TYPE_CHECKING."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name == "music21_melgen" or name.startswith("music21_melgen."):
                target = _target(name[len("music21_melgen.") :] if "." in name else "")
                if target is not None and target != module:
                    found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in FILES}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    assert top in RANK, f"music21_melgen.{module} is in no layer of LAYERS: add it where it belongs"
    return RANK[top]


def test_every_module_has_a_layer() -> None:
    for module in FILES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(FILES))
def test_imports_point_down_the_data_path(module: str) -> None:
    upward = sorted(t for t in GRAPH[module] if t != PACKAGE and _layer(t) > _layer(module))
    assert not upward, f"music21_melgen.{module or '__init__'} imports from above its layer: {upward}"


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_walk_finds_imports() -> None:
    assert "sampling" in GRAPH["engine"]
    assert "network" in GRAPH["sampling"]
    assert "sampling" not in GRAPH["model"]
