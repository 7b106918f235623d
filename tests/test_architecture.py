"""The package's floor plan: imports follow the data path, no import circles, short files.

Every ``import`` in the package is read with ``ast`` (those inside functions too), so a circle
cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rsna_workshop"
# The data path, first to last: a module may import only from its own layer or earlier ones.
LAYERS = ("version", "errors", "config", "ct", "imaging", "datasets", "synthetic", "model",
          "evaluation", "show", "workshop", "cli")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported package module, line, inside a function) for every package import of ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in MODULES else base, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return [(target, line, deferred) for target, line, deferred in found if target in MODULES]


GRAPH = {name: sorted({target for target, _, _ in imports(name)} - {name}) for name in MODULES}


def layer(name: str) -> int | None:
    parts = name.split(".")
    return None if len(parts) == 1 else LAYERS.index(parts[1])


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
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
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return out


def test_every_module_belongs_to_a_layer_of_the_data_path():
    assert {name.split(".")[1] for name in MODULES if "." in name} == set(LAYERS)


def test_no_import_circles_between_modules():
    assert cycles(GRAPH) == []


def test_the_circle_finder_finds_a_circle():
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]


def test_imports_point_back_along_the_data_path():
    forward = [f"{name} -> {target}" for name, targets in GRAPH.items() if layer(name) is not None
               for target in targets if layer(target) is not None and layer(target) > layer(name)]
    assert forward == []


def test_only_the_packages_face_imports_the_package_itself():
    importers = [name for name, targets in GRAPH.items() if "rsna_workshop" in targets]
    assert importers == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_package_imports_inside_functions_are_none(name):
    deferred = [f"line {line}: {target}" for target, line, inside in imports(name) if inside]
    assert deferred == [], f"{name} imports package modules inside functions; import them at the top"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_files_are_short_or_say_why_not(name):
    path = MODULES[name]
    lines = len(path.read_text().splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert lines <= MAX_LINES or "Longer than" in docstring, f"{path.name} has {lines} lines"


def test_every_module_has_a_docstring():
    missing = [name for name, path in MODULES.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []
