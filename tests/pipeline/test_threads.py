"""One thread budget per `msm` process, given to every library's pool before it starts: the
torch, Arrow and Rust pools of a process started with OMP_NUM_THREADS=1 (what two queued
experiments on two cores are started with) or pinned to one CPU use one thread each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.threads import VARIABLES, budget, export

ROOT = Path(__file__).resolve().parents[2]
POOLS = (
    "import os, torch, pyarrow\n"
    "print(torch.get_num_threads(), pyarrow.cpu_count(), os.environ['RAYON_NUM_THREADS'],"
    " os.environ['MKL_NUM_THREADS'])\n"
)


def pools(prefix: list[str], **env: str) -> list[str]:
    """The pool sizes seen by code run after `msm spec show rules` in one process."""
    script = "import sys\nfrom pipeline.cli import main\nmain(['spec', 'show', 'rules'])\n" + POOLS
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = subprocess.run(
        [*prefix, sys.executable, "-c", script],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1].split()


def test_omp_num_threads_sizes_every_pool() -> None:
    assert pools([], OMP_NUM_THREADS="1") == ["1", "1", "1", "1"]


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) not installed")
def test_without_omp_num_threads_the_cpus_given_decide() -> None:
    assert pools(["taskset", "-c", "0"]) == ["1", "1", "1", "1"]


def test_budget_reads_omp_num_threads_else_the_affinity() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert budget({"OMP_NUM_THREADS": "3"}) == 3
    assert (
        budget({}) == budget({"OMP_NUM_THREADS": "0"}) == budget({"OMP_NUM_THREADS": "x"}) == cpus
    )
    env = {"RAYON_NUM_THREADS": "4"}
    assert export(env) == cpus
    assert env == {**dict.fromkeys(VARIABLES, str(cpus)), "RAYON_NUM_THREADS": "4"}
