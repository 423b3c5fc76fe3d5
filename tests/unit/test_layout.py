"""The package layout holds: no import cycles, assist/'s layers import downward only, the core has
no Rasa or web imports, and no module outgrows one job (~300 lines)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assist", "console", "actions", "kefu_rasa")
# assist's layers, bottom first: each may import itself, the layers before it and the settings.
LAYERS = {
    "assist.text": set(),
    "assist.shop": {"assist.text"},
    "assist.drafting": {"assist.text", "assist.shop"},
    "assist.store": set(),
    "assist.integrations": set(),
    "assist.cases": {"assist.text", "assist.shop", "assist.drafting", "assist.store", "assist.integrations"},
    "assist.builders": {"assist.text", "assist.shop", "assist.drafting", "assist.store", "assist.integrations",
                        "assist.cases"},
}
NOT_IN_THE_CORE = ("rasa", "rasa_sdk", "sanic", "console", "kefu_rasa", "actions")
MAX_LINES = 300


def modules() -> Dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> Iterator[Tuple[str, int]]:
    """Every module this one imports, wherever the import stands (a lazy import is still an edge)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from assist.drafting import faq` imports a module
                yield f"{target}.{alias.name}", node.lineno


def graph() -> Dict[str, Set[str]]:
    known = modules()
    edges: Dict[str, Set[str]] = defaultdict(set)
    for name, path in known.items():
        for target, _ in imports(name, path):
            if target in known and target != name:
                edges[name].add(target)
    return edges


def test_no_import_cycles():
    edges = graph()
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    # A package __init__ importing its own parts is not a cycle between modules.
    cycles = [c for c in cycles if not any(c[0].startswith(m + ".") or m.startswith(c[0] + ".") for m in c[1:])]
    assert cycles == []


def layer_of(module: str) -> str:
    return next((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), "")


def test_assist_layers_import_downward_only():
    wrong = []
    for name, path in modules().items():
        layer = layer_of(name)
        if not layer:
            continue
        for target, line in imports(name, path):
            other = layer_of(target)
            if other and other != layer and other not in LAYERS[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target}")
    assert wrong == []


def test_the_core_imports_no_rasa_and_no_web_stack():
    wrong = []
    for name, path in modules().items():
        if not name.startswith("assist"):
            continue
        for target, line in imports(name, path):
            if target.split(".")[0] in NOT_IN_THE_CORE:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert wrong == []


def test_no_module_outgrows_one_job():
    big = []
    for folder in (*PACKAGES, "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                big.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert big == []
