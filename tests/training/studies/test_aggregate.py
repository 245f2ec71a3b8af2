"""Aggregation across seeds on a fixed `dvc exp show --json` (data/exp_show.json), checked against
means and SEMs worked out by hand, and `msm compare` reading the same file."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from training.studies.aggregate import cell, group_runs, headlines
from training.studies.runs import parse_runs

SHOWN = Path(__file__).with_name("data") / "exp_show.json"


@pytest.fixture(scope="module")
def groups():
    return {g.label: g for g in group_runs(parse_runs(json.loads(SHOWN.read_text())))}


def test_runs_keep_state_and_only_eval_metrics() -> None:
    runs = {r.name: r for r in parse_runs(json.loads(SHOWN.read_text()))}
    assert runs["workspace"].state == "workspace" and runs["main"].state == "baseline"
    assert runs["cheese-cheese_america-no_cot-s2"].state == "failed"
    assert runs["cheese-cheese_america-no_cot-s3"].state == "queued"
    s0 = runs["cheese-cheese_affordability-no_cot-s0"]
    assert set(s0.evals) == {"value_generalization", "heldout_loss", "agentic_misalignment"}
    assert s0.params["train_aft.cot"] is False and s0.params["train_seed"] == 0


def test_headlines_are_rates_and_losses_per_arm_not_breakdowns() -> None:
    runs = {r.name: r for r in parse_runs(json.loads(SHOWN.read_text()))}
    got = headlines(runs["cheese-cheese_affordability-no_cot-s1"])
    # the eval that did not run (`ran: false`) has no headline; domains stay in the file
    assert got == {
        ("heldout_loss", "aft"): 3.2,
        ("heldout_loss", "base"): 4.0,
        ("value_generalization/affordability", "aft"): 0.6,
        ("value_generalization/affordability", "base"): 0.4,
    }


def test_mean_and_sem_over_seeds_by_hand(groups) -> None:
    g = groups["cheese-cheese_affordability-no_cot"]
    assert g.seeds == [0, 1, 2] and not g.missing
    c = g.cells[("value_generalization/affordability", "aft")]
    # 0.5, 0.6, 0.7: mean 0.6; sample sd 0.1; SEM 0.1 / sqrt(3)
    assert c.mean == pytest.approx(0.6) and c.sem == pytest.approx(0.1 / math.sqrt(3))
    loss = g.cells[("heldout_loss", "aft")]
    assert loss.mean == pytest.approx(3.2) and loss.sem == pytest.approx(0.2 / math.sqrt(3))
    same = g.cells[("value_generalization/affordability", "base")]
    assert same.mean == pytest.approx(0.4) and same.sem == pytest.approx(0.0)


def test_failed_and_queued_runs_are_counted_not_averaged(groups) -> None:
    g = groups["cheese-cheese_america-no_cot"]
    assert g.seeds == [0, 1]
    assert dict(g.missing) == {"failed": 1, "queued": 1}
    c = g.cells[("value_generalization/affordability", "aft")]
    # 0.25, 0.35: mean 0.3; sd sqrt(0.005); SEM sqrt(0.005) / sqrt(2) = 0.05
    assert c.mean == pytest.approx(0.3) and c.sem == pytest.approx(0.05)


def test_one_seed_has_no_sem_and_a_run_without_seed_suffix_is_labelled() -> None:
    assert cell([0.4]).sem is None and cell([0.4]).seeds == 1
    runs = parse_runs(json.loads(SHOWN.read_text()))
    (scratch,) = [g for g in group_runs(runs, "scratch") if g.runs]
    assert scratch.label == "spec=rules"


def msm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True
    )


def test_compare_prints_mean_sem_and_missing_runs() -> None:
    done = msm("compare", "cheese", "--from", str(SHOWN))
    assert done.returncode == 0, done.stderr
    assert "0.600 ± 0.058 (3)" in done.stdout  # affordability rate, MSM + AFT arm
    assert "3.200 ± 0.115 (3)" in done.stdout  # held-out loss
    assert "0.300 ± 0.050 (2)" in done.stdout
    assert "1 failed, 1 queued" in done.stdout
    assert "scratch" not in done.stdout and "rules" not in done.stdout


def test_compare_json_and_errors() -> None:
    done = msm("compare", "cheese", "--from", str(SHOWN), "--json")
    figures = {g["group"]: g for g in json.loads(done.stdout)}
    aft = figures["cheese-cheese_affordability-no_cot"]["metrics"][
        "value_generalization/affordability:aft"
    ]
    assert aft["seeds"] == 3 and aft["mean"] == pytest.approx(0.6)
    none = msm("compare", "nope", "--from", str(SHOWN))
    assert none.returncode == 2 and "no experiments named nope-*" in none.stderr
    bad = msm("compare", "--from", __file__)
    assert bad.returncode == 2 and "not a `dvc exp show --json` file" in bad.stderr


def test_harmful_rate_is_a_headline_and_null_is_no_figure() -> None:
    from training.studies.runs import Run

    agentic = {
        "eval": "agentic_misalignment",
        "models": {
            "aft": {"harmful_rate": 0.25, "n": 8, "scenarios": {"leak": {"harmful_rate": 0.5}}},
            "base": {"harmful_rate": None, "n": 0, "parse_failures": 8},
        },
    }
    run = Run("x-s0", "r", "success", {"train_seed": 0}, {"agentic_misalignment": agentic})
    assert headlines(run) == {("agentic_misalignment", "aft"): 0.25}
