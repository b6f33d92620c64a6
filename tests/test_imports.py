"""The shape of the code's imports: `core` never reaches the UI, and no circles.

Read from the source with `ast` (nothing is imported), counting imports inside functions
too, since a lazy import only hides a circle; it does not remove it.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "explorer")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: str | None = None) -> list[tuple[str, bool]]:
    """(name imported, whether the import sits inside a function) for every import in a
    file: `from a import b` gives both `a` and `a.b`, since b may be a module. Relative
    imports resolve against `package` (by default the file's own)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.append((base, in_function))
                found.extend((f"{base}.{alias.name}", in_function) for alias in child.names)
            visit(child, nested)

    visit(tree, False)
    return found


def _graph() -> dict[str, dict[str, bool]]:
    """module -> {project module it imports: whether only inside functions}."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        edges: dict[str, bool] = {}
        found = _imports(path)
        names = {target for target, _ in found}
        for target, in_function in found:
            if target not in files or target == name or name.startswith(target + "."):
                continue          # not ours, or a package this module sits in (imported first anyway)
            if any(other.startswith(target + ".") and other in files for other in names):
                continue          # `from pkg import module`: the edge is to the module
            edges[target] = edges.get(target, True) and in_function
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return groups


def test_the_reader_finds_a_circle_and_a_lazy_import(tmp_path):
    """The checks below can fail: a made-up circle hidden behind a lazy import is seen."""
    graph = {"a": {"b": False}, "b": {"a": True}, "c": {"a": False}}
    assert _cycles(graph) == [["a", "b"]]
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom . import x\n\ndef f():\n    from .y import z\n")
    found = _imports(module, package="pkg")
    assert ("os", False) in found and any(name.endswith(".y") and lazy for name, lazy in found)


def test_no_import_circles_in_core_or_explorer():
    graph = _graph()
    assert {"core.data.coco", "core.data.layout"} <= graph.keys()        # the reader sees the code
    assert _cycles(graph) == []


def test_core_data_imports_nothing_of_its_own_inside_a_function():
    lazy = sorted((name, target) for name, edges in _graph().items() if name.startswith("core.data")
                  for target, only_inside in edges.items() if only_inside)
    assert lazy == []


def test_core_never_imports_the_ui():
    reaching = sorted((name, target) for name, path in
                      ((_module_name(p), p) for p in (ROOT / "core").rglob("*.py"))
                      for target, _ in _imports(path)
                      if target.split(".")[0] in ("streamlit", "explorer", "pages"))
    assert reaching == []


def test_core_names_load_on_first_use_from_where_the_static_imports_say():
    """`core/__init__.py` imports lazily: its table and `__all__` hold exactly the names of
    its `TYPE_CHECKING` imports (what an editor sees), each resolves to that module's object,
    and `import core.layers` in a fresh interpreter (the student checker's) loads neither h5py,
    requests nor Pillow."""
    import importlib
    import subprocess
    import sys

    import core

    tree = ast.parse((ROOT / "core" / "__init__.py").read_text())
    static = {alias.name: "." + node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 1 for alias in node.names}
    assert static == core._HOME and sorted(static) == sorted(core.__all__)
    for name, home in static.items():
        assert getattr(core, name) is getattr(importlib.import_module(home, "core"), name), name
    assert set(core.__all__) <= set(dir(core))
    try:
        core.no_such_name
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("core.no_such_name gave no AttributeError")
    probe = ("import sys; import core.layers, core.student.layer_checks, core.student.model_checks; "
             "print(sorted(m for m in ('h5py', 'requests', 'PIL') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {probe}"],
                           capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
