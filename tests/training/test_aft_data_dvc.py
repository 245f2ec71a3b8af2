"""The `aft_data` stage in DVC depends on its source file and `aft_data` params, never on the
active `spec`: on a copy of the repository, changing `spec` leaves it up to date whether the
source is a fixed set or another spec; changing the source or editing the source spec does not.
The AFT-only arm (`train_aft_only`) inherits this: trained once, it serves every spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from scratch import copy_tracked, discarded

ROOT = Path(__file__).resolve().parents[2]


def sh(cwd: Path, *cmd: str) -> str:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env.setdefault(key, "test")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env.setdefault(key, "test@example.com")
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def dvc(cwd: Path, *args: str) -> str:
    return sh(cwd, sys.executable, "-m", "dvc", *args)


def stale(repo: Path, stage: str = "aft_data") -> bool:
    return stage in json.loads(dvc(repo, "status", stage, "--json"))


def set_params(repo: Path, **changes: object) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in changes.items():
        *parents, last = key.split(".")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def repo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    dst = copy_tracked(tmp_path_factory.mktemp("repo"), skip=("dvc.lock",))
    set_params(dst, **{"aft_data.target": 40, "aft_data.samples": 30, "train_aft.max_steps": 1})
    sh(dst, "git", "init", "-q")
    sh(dst, "git", "add", "-A")
    sh(dst, "git", "commit", "-qm", "copy")
    with discarded(request, dst):
        yield dst


def test_changing_the_active_spec_never_rebuilds_aft_data(repo: Path) -> None:
    assert "Running stage 'aft_data'" in dvc(repo, "repro", "aft_data")
    assert not stale(repo)
    set_params(repo, spec="rules")  # a fixed set: the active spec is not an input
    assert not stale(repo)

    set_params(repo, **{"aft_data.source": "specs/philosophy.md"})
    assert stale(repo)
    assert "Running stage 'aft_data'" in dvc(repo, "repro", "aft_data")
    chats = pq.read_table(repo / "data/aft/no_cot.parquet").to_pylist()
    assert len(chats) == 30 and {c["spec"] for c in chats} == {"philosophy"}
    assert not stale(repo)
    set_params(repo, spec="general")  # another spec than the source: still not an input
    assert not stale(repo)
    assert "Running stage" not in dvc(repo, "repro", "aft_data")

    spec = repo / "specs/philosophy.md"
    spec.write_text(spec.read_text() + "\nIt says so plainly when it is unsure.\n")
    assert stale(repo)  # the source spec is


def test_the_aft_only_arm_never_depends_on_the_spec(repo: Path) -> None:
    set_params(repo, spec="cheese_affordability")
    out = dvc(repo, "repro", "train_aft_only")
    assert "Running stage 'train_aft_only'" in out and "train_msm" not in out
    assert not stale(repo, "train_aft_only")
    for spec in ("rules", "philosophy"):
        set_params(repo, spec=spec)
        assert not stale(repo, "train_aft_only")
        assert stale(repo, "train_aft")  # MSM + AFT: the MSM model is the spec's
    set_params(repo, **{"train_aft.cot": True})  # the CoT arm is another model
    assert stale(repo, "train_aft_only")
