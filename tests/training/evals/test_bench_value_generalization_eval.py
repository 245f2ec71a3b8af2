"""The whole-process eval bench (bench/value_generalization_eval.py) runs its CPU smoke path:
a tiny random model saved to disk, `msm evaluate` as a process, the naive loop beside it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_cpu_smoke_run(tiny: dict[str, Path]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "value_generalization_eval.py"),
            *("--tokenizer", str(tiny["base"]), "--tiny", "--device", "cpu"),
            *("--dtype", "float32", "--max-items", "1", "--naive-limit", "4"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tiny on cpu, float32, 2 items, 8 option sequences")
    assert lines[1].startswith("msm evaluate (whole process):") and "seq/s" in lines[1]
    assert lines[2].startswith("naive loop: 4 sequences in")
    assert lines[3].startswith("msm evaluate / naive:")
