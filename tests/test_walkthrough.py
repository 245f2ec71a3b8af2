"""A new user's first hour, replayed in order on a fresh clone, with the README's own text.

The clone is of a tiny repository (this one's tracked files, committed in a temp folder), and
every command runs as a user's shell would run it there: `msm` and `dvc` from the activated
environment. What is cheap to check is checked here, one step per point a first user met:

1. the README activates `.venv` before its first command other than `make`, and says that the
   Makefile sets `HF_HUB_OFFLINE=1`;
2. the dry-run block, copied from the README and run by bash as one block, talks to the local
   server and says which server it used and how many requests it bought; the server logs each;
3. `msm verify` on a folder the pipeline has not built yet, and on a folder that holds no shards;
4. `msm train-msm` with the dvc.yaml arguments before any corpus exists: the argument error
   comes before torch is imported;
5. `msm spec show nope`, then `spec: rulez` in params.yaml and `{modle_name}` in a spec: each
   error names the file and line and offers the closest name;
6. the README's `dvc exp show` line is a valid command (its columns on a real experiment are
   checked by `tests/test_dvc_contract.py`, which runs one).

and after all of it (edits undone) `git status` is clean: nothing the walk-through ran leaves a
file git would show. The slow half of the hour (`make repro`, `dvc exp run`, push and pull) is
`tests/test_dvc_contract.py`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from scratch import copy_tracked, discarded

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHARDS_ARGS = "--base models/base --shards corpora/rules/shards --out models/msm"


def shell(cwd: Path, script: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`script` run by bash in `cwd` with the environment activated (its bin/ first on PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTEST"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(cwd: Path, script: str) -> str:
    done = shell(cwd, script)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def bash_blocks() -> list[str]:
    """The README's ```bash blocks, dedented (some sit inside list items)."""
    return [
        textwrap.dedent(b)
        for b in re.findall(r"^[ \t]*```bash\n(.*?)^[ \t]*```", README, re.M | re.S)
    ]


@pytest.fixture(scope="module")
def clone(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A fresh `git clone` of a repository holding this one's tracked files."""
    origin = copy_tracked(tmp_path_factory.mktemp("origin"))
    ok(origin, "git init -q && git add -A && git commit -qm origin")
    dst = tmp_path_factory.mktemp("clone") / "msm-factory"
    ok(dst.parent, f"git clone -q {shlex.quote(str(origin))} {dst.name}")
    with discarded(request, dst.parent):
        yield dst


def test_first_hour(clone: Path) -> None:
    # 1. activate the environment before the first command that is not `make`
    blocks = bash_blocks()
    first_other = next(
        i for i, b in enumerate(blocks) if re.search(r"^(msm|dvc) ", b, re.M) and "make" not in b
    )
    activate = next(i for i, b in enumerate(blocks) if "source .venv/bin/activate" in b)
    assert activate < first_other, blocks[first_other]
    assert "sets `HF_HUB_OFFLINE=1`" in README
    assert re.search(r"^export HF_HUB_OFFLINE := 1$", (clone / "Makefile").read_text(), re.M)

    # 2. the dry run, as one block (port 0: any free port; the server writes it into dry/)
    (dry,) = [b for b in blocks if "fakes.localserver" in b and "msm generate" in b]
    assert "--port 8123" in dry
    done = shell(clone, "set -e\n" + dry.replace("--port 8123", "--port 0"))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    used = re.search(r"anthropic backend: (\S+) at (http://127\.0\.0\.1:\d+)", out)
    assert used and used.group(1) == "claude-sonnet-4-5-20250929", out
    bought = re.search(r"(\d+) answers from the cache, (\d+) bought \(\$([\d.]+)\)", out)
    assert bought and int(bought.group(1)) == 0 and int(bought.group(2)) > 0, out
    assert float(bought.group(3)) > 0  # priced as the paid model is
    served = re.findall(r"anthropic request \d+ \(claude-sonnet-4-5-20250929\): 200 ok", out)
    assert len(served) == int(bought.group(2)), out[-2000:]
    assert re.search(rf"wrote dry/params.yaml .* at {re.escape(used.group(2))}\n", out), out

    # 3. msm verify before anything is built, and on a folder of something else
    done = shell(clone, "msm verify corpora/rules/shards")
    assert done.returncode == 2 and "corpora/rules/shards: no such folder" in done.stderr
    assert "dvc repro pack@rules" in done.stderr and "Traceback" not in done.stderr
    done = shell(clone, "msm verify dry/out")
    assert done.returncode == 2 and "not a shard folder" in done.stderr, done.stderr
    assert "KeyError" not in done.stderr and "Traceback" not in done.stderr

    # 4. train-msm's arguments are checked before the training stack is imported
    check = "import sys; print('heavy:', sorted({'torch', 'transformers'} & set(sys.modules)))"
    script = (
        "import sys\nfrom pipeline.cli import main\ntry:\n    main(sys.argv[1:])\n"
        f"except SystemExit as e:\n    {check}\n    raise\n"
    )
    done = shell(
        clone,
        f"python -c {shlex.quote(script)} train-msm {SHARDS_ARGS} --metrics metrics/train_msm",
    )
    assert done.returncode == 2 and "dvc repro pack@rules" in done.stderr, done.stderr
    assert "heavy: []" in done.stdout

    # 5. names that do not exist: a spec to show, the active spec, a placeholder
    done = shell(clone, "msm spec show nope")
    assert done.returncode == 2 and "general, philosophy" in done.stderr
    assert "params.yaml" not in done.stderr
    params = (clone / "params.yaml").read_text()
    (clone / "params.yaml").write_text(re.sub(r"(?m)^spec: \S+", "spec: rulez", params))
    line = next(
        n for n, s in enumerate((clone / "params.yaml").read_text().splitlines(), 1)
        if s.startswith("spec: rulez")
    )  # fmt: skip
    done = shell(clone, "msm params")
    assert done.returncode == 2 and f"params.yaml:{line}: `spec: rulez`" in done.stderr
    assert "did you mean `rules`?" in done.stderr
    ok(clone, "git checkout -q params.yaml")
    spec = clone / "specs" / "rules.md"
    text = spec.read_text()
    spec.write_text(text + "\n{modle_name} always states which rule applies.\n")
    done = shell(clone, "msm spec lint specs/rules.md")
    assert done.returncode == 1, done.stderr
    assert f"specs/rules.md:{len(text.splitlines()) + 2}: unknown placeholder" in done.stderr
    assert "did you mean {model_name}?" in done.stderr
    ok(clone, "git checkout -q specs/rules.md")

    # 6. the README's dvc exp show line parses (no experiment yet: nothing to show)
    (show,) = [ln for b in blocks for ln in b.splitlines() if ln.startswith("dvc exp show --drop")]
    ok(clone, show)

    # nothing above leaves a file git would show
    assert ok(clone, "git status --porcelain") == ""
