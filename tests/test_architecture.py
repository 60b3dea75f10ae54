"""The import graph of recommender/, pages/ and app.py, read from the source (no module is imported).

The layers, top to bottom (docs/ARCHITECTURE.md): the entry points (app.py, pages/, the command
line) → the facade (the catalog, and the build and upload jobs that change it) → the stages
(features, models, index, store, recommendations, …) → the primitives every layer shares. A
module imports from its own layer or below; no import cycle anywhere, lazy imports included;
``recommender`` never imports streamlit or the pages; no module imports another's private name.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "entry": ("app", "pages", "recommender.cli", "recommender.__main__"),
    "facade": ("recommender.catalog", "recommender.uploads", "recommender.build", "recommender.jobs"),
    "stages": (),  # every module of recommender/ not named in another layer
    "primitives": (
        "recommender.errors", "recommender.config", "recommender.files", "recommender.formats",
        "recommender.locks", "recommender.keras_runtime", "recommender.librosa_import", "recommender.words", "recommender.limits",
        "recommender.passwords", "recommender.profile_names", "recommender.build_options",
        "recommender.sources.base",
    ),
}  # fmt: skip
ORDER = list(LAYERS)
STDLIB_PRIVATE = {"os._exit", "sys._getframe"}


def _modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for base in ("recommender", "pages"):
        for path in sorted((ROOT / base).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def layer(module: str) -> str:
    for name, prefixes in LAYERS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    return "stages"


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(module: str) -> list[tuple[str, str | None, bool, int]]:
    """``(imported module, name imported from it or None, only for type checking, line)`` of every import."""
    path = MODULES[module]
    found = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            typed = typing_only or _type_checking(child)
            if isinstance(child, ast.Import):
                found.extend((alias.name, None, typed, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".strip(".")
                found.extend((base, alias.name, typed, child.lineno) for alias in child.names)
            visit(child, typed)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _ours(name: str) -> str | None:
    """The module of ours that importing ``name`` runs (its package for a name in it), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache
def edges(*, typing: bool = False) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (at run time; with ``typing``, for type checking too)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for base, name, typed, _ in imports(module):
            if typed and not typing:
                continue
            target = f"{base}.{name}" if name and f"{base}.{name}" in MODULES else _ours(base)
            if target and target != module:
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_graph_is_read():
    graph = edges()
    assert "recommender.catalog" in graph["pages._cache"]
    assert "recommender.files" in graph["recommender.model"]
    assert "recommender.cli.build" in graph["recommender.cli.main"]  # a submodule imported from its package


def test_no_import_cycles():
    assert cycles(edges()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module):
    mine = ORDER.index(layer(module))
    upward = sorted(t for t in edges()[module] if ORDER.index(layer(t)) < mine)
    assert upward == [], f"{module} ({layer(module)}) imports from a layer above: {upward}"


def test_recommender_never_imports_streamlit_or_the_pages():
    offending = [
        (module, base, line)
        for module in MODULES
        if module.startswith("recommender")
        for base, _, _, line in imports(module)
        if base.split(".")[0] in ("streamlit", "pages")
    ]
    assert offending == []


def test_no_module_imports_a_private_name_of_another_package():
    """``from x import _name`` only within one package (recommender.store's modules share helpers)."""
    offending = []
    for module in MODULES:
        package = module.rpartition(".")[0]
        for base, name, _, line in imports(module):
            is_module = name is not None and f"{base}.{name}" in MODULES
            private = (
                name is not None and name.startswith("_") and not name.startswith("__") and not is_module
            )
            if private and _ours(base) and base.rpartition(".")[0] != package and base != package:
                offending.append(f"{module}:{line} imports {name} from {base}")
    assert offending == []


def test_no_module_reaches_into_another_objects_private_state():
    """``obj._attr`` only where ``_attr`` is defined in the same module; never ``obj.__dict__[…]`` on an instance."""
    offending = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {
            getattr(node, "name", None) or getattr(node, "attr", None) or getattr(node, "id", None)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Attribute | ast.Name)
            and isinstance(getattr(node, "ctx", ast.Store()), ast.Store)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            owner, attr = node.value.id, node.attr
            if owner in ("self", "cls") or ast.unparse(node) in STDLIB_PRIVATE:
                continue
            if (
                attr == "__dict__"
                and owner[:1].islower()
                or attr.startswith("_")
                and not attr.startswith("__")
                and attr not in defined
            ):
                offending.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert offending == []
