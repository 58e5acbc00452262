"""The project's import graph: one way only, and no test module leaning on another."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connectors", "evidence", "reports")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:` (never run, so no edge)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every module `path` imports, at module level or inside a function, with its line.

    `from a import b` is an edge to `a.b` when that is a module, else to `a`. A call
    `lazy_module("a.b")` (the CLI's deferred imports) is an edge too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value), node.lineno


def graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {
        name: {target for target, _ in imports(path, name, known) if target in known}
        for name, path in modules.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a self-import
    (Tarjan's algorithm, iterative so that deep chains do not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(sorted(component))
    return found


def test_the_walker_sees_function_level_and_lazy_imports(tmp_path: Path) -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert cycles(edges) == [["a", "b", "c"], ["d"]]
    mod = tmp_path / "m.py"
    mod.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import x.hidden\n"
        "import x.top\n"
        "def f():\n    from x import sub, name\n"
        "g = lazy_module('x.late')\n"
    )
    found = sorted(imports(mod, "m", {"x.sub", "x.top", "x.late", "x"}))
    assert found == [("typing", 1), ("x", 6), ("x.late", 7), ("x.sub", 6), ("x.top", 4)]


def test_the_project_has_no_import_cycle() -> None:
    edges = graph()
    assert len(edges) > 100  # the walker found the project
    assert "connectors.http._client" in edges["connectors.http._paging"]
    assert cycles(edges) == []


def test_connectors_import_nothing_of_the_pipeline_but_errors_and_sql() -> None:
    """Connectors read sources; the store, detections, SIEM and reports build on them."""
    allowed = {"evidence.errors", "evidence.sql"}
    for name, targets in graph().items():
        if name.startswith("connectors."):
            leaks = {t for t in targets if t.split(".")[0] in ("evidence", "reports")} - allowed
            assert not leaks, f"{name} imports {sorted(leaks)}"


def test_exports_and_http_import_no_source_kind() -> None:
    kinds = ("okta", "entra", "scim", "hris", "app_export")
    for name, targets in graph().items():
        if name.startswith(("connectors.exports", "connectors.http")):
            vendor = {t for t in targets if t.split(".")[1:2] and t.split(".")[1] in kinds}
            assert not vendor, f"{name} imports {sorted(vendor)}"


def test_no_import_inside_a_function_in_connectors() -> None:
    for name, path in source_modules().items():
        if not name.startswith("connectors."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [
                    n.lineno for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                ]
                assert not inner, f"{path.relative_to(ROOT)}:{inner[0]}: import inside a function"


def test_no_test_module_imports_another() -> None:
    tests = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for target, line in imports(path, "tests." + path.stem, set()):
            leaf = target.rpartition(".")[2]
            if target.startswith("tests.") and leaf in tests:
                raise AssertionError(f"{path.relative_to(ROOT)}:{line}: imports {target}")


def test_no_source_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in source_modules().values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}
