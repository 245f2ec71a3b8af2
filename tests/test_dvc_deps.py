"""dvc.yaml's code deps equal each stage's import closure, and pyproject's dependencies equal what
the code imports: nothing missing (an edit that reruns nothing), nothing extra (reruns for
nothing, packages installed for nothing)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import pytest
import yaml

from pipeline.cli import COMMANDS
from pipeline.deps import PACKAGES, ROOT, closure, ignored, neutral, relative

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def stage_module(cmd: str) -> str:
    match = re.match(r"msm (\S+)", cmd.strip())
    assert match, f"stage command {cmd!r} does not run `msm <command>`"
    return COMMANDS[match.group(1)][0]


def code_deps(deps: list) -> set[str]:
    """The stage's deps inside the project's packages, folders expanded to their files."""
    out: set[str] = set()
    for dep in deps:
        path = ROOT / dep
        if path.parts[len(ROOT.parts)] not in PACKAGES:
            continue
        assert path.exists(), f"dvc.yaml names {dep}, which does not exist"
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        out |= {
            str(p.relative_to(ROOT))
            for p in files
            if p.is_file() and not ignored(p) and not neutral(p)
        }
    return out


@pytest.mark.parametrize("name", sorted(DVC))
def test_stage_code_deps_are_its_import_closure(name: str) -> None:
    stage = DVC[name].get("do", DVC[name])
    want = set(relative(closure(stage_module(stage["cmd"]))))
    have = code_deps(stage.get("deps", []))
    assert have == want, (
        f"dvc.yaml stage {name}: code deps differ from the import closure of its module\n"
        f"  missing (an edit there would rerun nothing): {sorted(want - have)}\n"
        f"  extra (an edit there would rerun it for nothing): {sorted(have - want)}\n"
        f"  the exact list: {sorted(want)}"
    )


def test_closure_follows_function_level_imports_and_data_folders() -> None:
    files = set(relative(closure("pipeline.generate.stage")))
    assert "llm/backends/anthropic.py" in files  # imported only when chosen
    assert "pipeline/generate/prompts/system.txt" in files
    assert "pipeline/generate/templates/faq.txt" in files
    assert not any(f.startswith(("fakes/", "tests/")) for f in files)
    assert "pipeline/cli.py" not in files


# ---------------------------------------------------------------- pyproject dependencies

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Imported under another name than the distribution, or not imported at all on purpose.
RUNTIME_ONLY = {
    "dvc": "runs the pipeline (`dvc repro`); the code never imports it",
    "accelerate": "transformers' Trainer needs it at run time; never imported directly",
    "gguf": "transformers reads the base model's GGUF file with it (`gguf_file=`)",
    "dvc-ssh": "DVC's SSH remote (`dvc remote add ... ssh://`); DVC loads it",
    "dvc-s3": "DVC's S3 remote (`s3://`); DVC loads it",
}


def _distribution(name: str) -> str:
    return re.split(r"[=<>~!\[ ;]", name, maxsplit=1)[0].lower().replace("_", "-")


def imported_distributions(folders: list[str]) -> set[str]:
    """Third-party distributions whose modules the files under `folders` import (including
    imports inside functions)."""
    stdlib = set(sys.stdlib_module_names)
    # the test helpers at tests/ (on the suite's pythonpath) are imported by name
    helpers = {p.stem for p in (ROOT / "tests").glob("*.py")}
    ours = {*PACKAGES, "fakes", "tests", "conftest", "bench", *helpers}
    mapping = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            # a script folder (no package) imports its sibling scripts by name
            package = (path.parent / "__init__.py").is_file()
            local = set() if package else {p.stem for p in path.parent.glob("*.py")}
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                for top in tops:
                    if top in stdlib or top in ours or top in local or top == "__future__":
                        continue
                    dists = mapping.get(top)
                    if top == "vllm":  # the optional GPU extra, in its own environment
                        continue
                    # not installed here (an optional extra): its module name stands in
                    found.add((dists[0] if dists else top).lower().replace("_", "-"))
    return found


def test_dependencies_are_what_the_code_imports() -> None:
    declared = {_distribution(d) for d in PYPROJECT["dependencies"]}
    gpu = {_distribution(d) for d in PYPROJECT["optional-dependencies"]["gpu"]}
    used = imported_distributions([*PACKAGES, "fakes"]) - gpu  # GPU-only, imported when present
    missing, extra = used - declared, declared - used - set(RUNTIME_ONLY)
    assert not missing and not extra, (
        f"pyproject dependencies: missing {sorted(missing)}, not imported {sorted(extra)}"
    )


def test_extras_are_what_tests_and_benches_import() -> None:
    declared = {_distribution(d) for d in PYPROJECT["dependencies"]}
    extras = PYPROJECT["optional-dependencies"]
    dev = {_distribution(d) for d in extras["dev"]}
    bench = {_distribution(d) for d in extras["bench"]}
    tests = imported_distributions(["tests"]) - declared
    assert tests <= dev, f"tests import {sorted(tests - dev)}, not in the dev extra"
    benches = imported_distributions(["bench"]) - declared - dev
    assert benches <= bench, f"bench imports {sorted(benches - bench)}, not in the bench extra"
