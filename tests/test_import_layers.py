"""The engine's imports, read with ``ast`` (nothing is imported): no import circle, and no arrow pointing up.

A circle held apart only by an import inside a function breaks every handler at import time the day a formatter
hoists it, so imports inside functions count here too (those under ``if TYPE_CHECKING`` do not).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAMBDAS = ROOT / "lambdas"

# The pure core: parsing, settings, the decision and its vocabulary. It makes no AWS call and imports only itself.
CORE = {
    "responder.core.arns",
    "responder.core.capabilities",
    "responder.parse.cloudtrail_records",
    "responder.core.config",
    "responder.parse.events",
    "responder.core.fit",
    "responder.parse.guard_calls",
    # the registries (their __init__) and what they declare units with; each unit's module is loaded on first use
    "responder.findings",
    "responder.findings.base",
    "responder.findings.documented",
    "responder.findings.models",
    "responder.kinds",
    "responder.runbooks",
    "responder.runbooks.base",
    "responder.core.model",
    "responder.core.own_names",
    "responder.core.partitions",
    "responder.decide.pricing",
    "responder.decide.rogue",
    "responder.core.table_keys",
    "responder.core.timeutil",
}
OUTSIDE_THE_ASSET = ("infra", "cli", "tools", "tests")


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in LAMBDAS.rglob("*.py"):
        parts = list(path.relative_to(LAMBDAS).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


MODULES = _modules()


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(ast.walk(node))
    return skipped


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports (anywhere in its body), resolved to dotted names; third-party ones included."""
    path, package = MODULES[name]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    base = name if package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
    found.discard(name)
    return found


GRAPH = {name: {m for m in imports_of(name) if m in MODULES} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_engine_has_no_import_circle():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(CORE))
def test_the_pure_core_imports_only_the_core(name):
    assert name in MODULES, f"{name} is listed as core but does not exist"
    assert GRAPH[name] - CORE == set(), f"{name} imports outside the pure core"


# The pipeline's layers (``responder/__init__``): what each package may import besides itself. The vocabulary and
# the reading of what AWS delivers import no step after them; the decision never reads (no evidence, record, shell).
LAYERS = {
    "responder.core": {"responder.core"},
    "responder.parse": {"responder.core", "responder.kinds", "responder.findings"},  # the registries' models
    "responder.decide": {"responder.core", "responder.parse", "responder.actions", "responder.kinds"},
}


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_of_the_pipeline_imports_only_what_comes_before_it(layer):
    allowed = LAYERS[layer] | {layer}
    members = [name for name in MODULES if _package(name) == layer]
    assert members, f"{layer} has no module"
    upward = {f"{name} -> {m}" for name in members for m in GRAPH[name] if _package(m) not in allowed}
    assert not upward, f"{layer} imports a later step: {sorted(upward)}"


def test_the_layer_check_sees_an_upward_arrow():
    graph = {"responder.decide.planner": {"responder.evidence.probes"}}
    assert {m for m in graph["responder.decide.planner"] if _package(m) not in LAYERS["responder.decide"]}


def test_the_engine_never_imports_its_handlers_or_anything_outside_the_asset():
    for name in MODULES:
        if name.startswith("responder"):
            upward = {m for m in imports_of(name) if m.startswith(("handlers", *OUTSIDE_THE_ASSET))}
            assert not upward, f"{name} imports {upward}"


def test_the_catalog_does_not_pull_in_the_lambda_shell():
    """The CDK synth reads the catalog; the handler glue (Powertools, telemetry) is not its business."""
    reached: set[str] = set()
    todo = ["responder.shell.catalog"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(GRAPH[name])
    assert "responder.shell.entrypoint" not in reached
