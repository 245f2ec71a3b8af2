"""Merged model folders do not pile up: a run removes its own when it ends (also on an error),
and the next run removes what a killed run left, never a live run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_evaluate import _ctx

from training.evals.arms import Arms
from training.evals.merged import RunFolder, sweep
from training.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[3]
HOLD = """
import sys, time
from pathlib import Path
from training.evals.merged import RunFolder
folder = RunFolder(Path(sys.argv[1])).get()
(folder / "msm-0123456789abcdef").mkdir()
print(folder, flush=True)
time.sleep(600)
"""


def test_a_run_removes_the_folders_it_merged(tiny_arms: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "eval-models"
    arms = Arms(tiny_arms["base"], tiny_arms["msm"], tiny_arms["aft"], None, "float32", "cpu")
    arms = replace(arms, _merged=RunFolder(root))
    msm, aft = arms.folder("msm"), arms.folder("aft")
    assert (msm / "config.json").is_file() and (aft / "config.json").is_file()
    assert msm.parent == aft.parent and arms.folder("msm") == msm  # merged once per run
    assert msm.name.startswith("msm-")  # the leaf name is the merged model's name
    arms.close()
    assert list(root.iterdir()) == []


def test_evaluate_removes_them_when_it_fails(
    tiny_arms: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    ctx = _ctx({**tiny_arms, "shards": tmp_path / "no-shards"}, tmp_path, max_items=1)
    merged = ctx.arms.folder("msm")
    assert merged.is_dir()
    with pytest.raises(FileNotFoundError):  # heldout_loss finds no shards
        evaluate(ctx)
    assert list((tmp_path / "work" / "eval-models").iterdir()) == []


def test_the_next_run_removes_a_killed_runs_folders_only(tmp_path: Path) -> None:
    root = tmp_path / "eval-models"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    held = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        live = Path(held.stdout.readline().strip())
        assert (live / "msm-0123456789abcdef").is_dir()
        (root / "aft-fedcba9876543210").mkdir()  # an older layout's folder
        (root / "run-1-dead").mkdir()  # a run that died before it locked
        assert sorted(p.name for p in sweep(root)) == ["aft-fedcba9876543210", "run-1-dead"]
        assert live.is_dir()  # a live run's folder is left alone
        held.send_signal(signal.SIGKILL)  # no clean-up of its own
        held.wait()
        assert sweep(root) == [live]
        assert list(root.iterdir()) == []
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
