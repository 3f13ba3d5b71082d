"""The layers of docs/architecture.md, checked: every import of a Cairn module
by another, those inside functions included, goes down (or sideways within a
layer), and no modules import each other in a circle.

    cmd, tui  ->  engine  ->  land, gc, executors  ->  backends  ->  vcs  ->  agents, notify, config  ->  state  ->  core

Imports under ``if TYPE_CHECKING:`` are for the type checker only and never
run: they are left out.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "cairn"

#: Higher imports lower; equal ranks may import each other (but never in a circle).
RANK = {
    "__main__": 8, "cmd": 8, "tui": 8,
    "engine": 7,
    "land": 6, "gc": 6, "executors": 6,
    "backends": 5,
    "vcs": 4,
    "agents": 3, "notify": 3, "progress": 3, "config": 3,
    "state": 2,
    "core": 1, "errors": 1, "__init__": 1,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports() -> dict[str, set[tuple[str, int]]]:
    """Module -> the Cairn modules it imports at run time, with the line."""
    known = modules()
    found: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {
            id(inner) for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from cairn.backends.git import trash`` imports the module trash, not the package's body.
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("cairn"):
                    found[name].add((target, node.lineno))
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_package_has_a_layer():
    assert {layer(m) for m in modules()} <= set(RANK), "a new package: give it a rank here and a row in docs/architecture.md"


def test_imports_only_go_down_the_layers():
    upward = [
        f"{module}:{line} imports {target} ({layer(module)} may not use {layer(target)})"
        for module, targets in sorted(imports().items())
        for target, line in sorted(targets)
        if RANK[layer(target)] > RANK[layer(module)]
    ]
    assert upward == []


def test_no_modules_import_each_other_in_a_circle():
    graph = {module: {target for target, _ in targets} for module, targets in imports().items()}
    circles = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                walk(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert circles == []


def test_only_the_backends_ask_which_vcs_a_task_uses():
    """``work.backend == "jj"``, ``isinstance(work, JjWork)``: only cairn/backends/
    tells backends apart (the factory by name, each backend its own records)."""
    asking = re.compile(r"\.backend\s*[!=]=|isinstance\([^)]*(GitWork|CloneWork|JjWork|GitKept|CloneKept|JjKept)")
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, path in modules().items() if layer(name) not in ("backends", "core")
        for number, line in enumerate(path.read_text().splitlines(), 1) if asking.search(line)
    ]
    assert found == []
