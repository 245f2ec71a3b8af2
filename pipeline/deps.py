"""The code a stage runs: the import closure of its module, found from the source, not by importing.

`closure("pipeline.dedup.stage")` is every file of the project's packages (`PACKAGES`) that the
module imports, directly or through other project modules (imports inside functions count:
a backend imported only when chosen is still code the stage may run), plus the data folders
those modules read beside themselves (a module-level `Path(__file__)...parent / "name"`). Two
users rely on it, so they cannot drift apart:

- `dvc.yaml`: each stage's code `deps:` must equal its closure (`tests/test_dvc_deps.py`), so an
  edit reruns exactly the stages whose code changed;
- the corpus steps' work folders (`pipeline.execution.workdir`) are keyed by the same files.

The `msm` dispatcher (`pipeline/cli.py`) is left out: it only picks the module. So are package
`__init__.py` files that hold nothing but a docstring: they cannot change what a stage does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("llm", "pipeline", "training")


def closure(module: str) -> list[Path]:
    """The files (absolute, sorted) that `module` runs, with the data folders' files."""
    seen: set[Path] = set()
    todo = [_module_file(module)]
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path))
    files = {p for p in seen if not neutral(p)}
    for path in list(seen):
        for folder in _data_folders(path):
            files.update(p for p in folder.rglob("*") if p.is_file() and not ignored(p))
    return sorted(files)


def relative(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def neutral(path: Path) -> bool:
    """An `__init__.py` with only a docstring (or nothing)."""
    if path.name != "__init__.py":
        return False
    body = _tree(path).body
    return all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body)


def ignored(path: Path) -> bool:
    """Files that are never code or data (as `.dvcignore` keeps them out of hashes)."""
    return "__pycache__" in path.parts or path.suffix == ".pyc"


def _module_file(name: str) -> Path | None:
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _packages_of(name: str) -> list[str]:
    """`a.b.c` -> `a`, `a.b`: the packages whose `__init__` runs before the module."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def _imports(path: Path) -> tuple[Path, ...]:
    tree = _tree(path)
    names: list[str] = []
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            # `from pkg import mod` imports a submodule when `mod` is one
            names += [f"{node.module}.{a.name}" for a in node.names]
    out: list[Path] = []
    for name in names:
        for full in [*_packages_of(name), name]:
            found = _module_file(full)
            if found is not None:
                out.append(found)
    return tuple(out)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _statements(tree: ast.Module) -> Iterator[ast.AST]:
    """Every statement of the module, nested ones included (imports are statements, and a
    statement sits only in these lists): a tenth of the nodes that `ast.walk` visits, which
    made this the slowest part of a corpus stage's start-up (~50 ms for `msm quality`)."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo.extend(getattr(node, field, ()))


def _data_folders(path: Path) -> list[Path]:
    """Folders named at module level as `Path(__file__)[.resolve()].parent[...] / "name"`."""
    tree = _tree(path)
    out = []
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Div)):
            continue
        if not (isinstance(value.right, ast.Constant) and isinstance(value.right.value, str)):
            continue
        ups, left = 0, value.left
        while isinstance(left, ast.Attribute | ast.Call):
            if isinstance(left, ast.Attribute):
                ups += left.attr == "parent"
                left = left.value
            else:
                uses_file = any(isinstance(a, ast.Name) and a.id == "__file__" for a in left.args)
                if uses_file:
                    break
                left = left.func
        if isinstance(left, ast.Call) and ups >= 1:
            folder = path.parents[ups - 1] / value.right.value
            if folder.is_dir():
                out.append(folder)
    return out
