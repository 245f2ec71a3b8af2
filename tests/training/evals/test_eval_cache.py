"""The eval result cache: a second `evaluate` in which only the AFT adapter changed scores only
the AFT arm, takes every other arm's rows from the cache, and writes exactly what a run from an
empty cache writes. Edited eval inputs are a miss for every arm."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from testprofile import section

from pipeline.config.run import RunConfig
from training.evals.arms import Arms
from training.evals.context import EvalContext
from training.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[3]
EVALS = ["value_generalization", "spec_knowledge", "heldout_loss"]
ARMS = ["base", "msm", "aft", "aft_only"]
OUTPUTS = [*(f"{e}.json" for e in EVALS), *(f"{e}.parquet" for e in EVALS[:2])]


def _ctx(models: dict[str, Path], aft: Path, cache: Path, out: Path, **vg: object) -> EvalContext:
    ep = section("evaluate", val_sequences=4, evals=EVALS, models=ARMS)
    ep = replace(
        ep,
        value_generalization=replace(ep.value_generalization, **{"max_items": 3, **vg}),
        spec_knowledge=replace(ep.spec_knowledge, max_pairs=4),
    )
    return EvalContext(
        arms=Arms(models["base"], models["msm"], aft, models["aft_only"], "float32"),
        params=ep,
        spec="rules",
        spec_file=ROOT / "specs" / "rules.md",
        seed=0,
        shards=models["shards"],
        cache=cache,
        run_config=RunConfig(),
        out_dir=out,
    )


def _rows(out: Path, name: str, arm: str) -> list[dict]:
    table = pq.read_table(out / f"{name}.parquet").to_pylist()
    return [r for r in table if r["model"] == arm]


def test_unchanged_models_are_not_scored_again(
    tiny_arms: dict[str, Path],
    make_adapter: Callable[[Path, Path, int], Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "cache"
    first = _ctx(tiny_arms, tiny_arms["aft"], cache, tmp_path / "first")
    evaluate(first)
    assert first.tally == {"miss": len(EVALS) * len(ARMS)}

    # the next experiment changed AFT only
    new_aft = make_adapter(tiny_arms["base"], tmp_path / "new-aft", 7)
    caplog.set_level(logging.INFO)
    second = _ctx(tiny_arms, new_aft, cache, tmp_path / "second")
    evaluate(second)
    assert second.tally == {"hit": len(EVALS) * 3, "miss": len(EVALS)}
    scored = [r.getMessage() for r in caplog.records if " options in " in r.getMessage()]
    assert scored == ["value_generalization aft: 24 options in " + scored[0].split(" in ")[1]]
    assert f"evaluate: {len(EVALS)} results per eval and model scored, 9 taken" in caplog.text
    for name in ("value_generalization", "spec_knowledge"):
        for arm in ("base", "msm", "aft_only"):
            assert _rows(tmp_path / "second", name, arm) == _rows(tmp_path / "first", name, arm)
        assert _rows(tmp_path / "second", name, "aft") != _rows(tmp_path / "first", name, "aft")

    # what the cache gave equals what scoring from nothing gives, byte for byte
    fresh = _ctx(tiny_arms, new_aft, tmp_path / "empty-cache", tmp_path / "fresh")
    evaluate(fresh)
    assert fresh.tally == {"miss": len(EVALS) * len(ARMS)}
    for name in OUTPUTS:
        assert (tmp_path / "second" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_changed_eval_inputs_miss_for_every_arm(tiny_arms: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    evaluate(_ctx(tiny_arms, tiny_arms["aft"], cache, tmp_path / "a"))
    more = _ctx(tiny_arms, tiny_arms["aft"], cache, tmp_path / "b", max_items=4)
    evaluate(more)
    # value_generalization's items changed: all four arms scored; the other evals unchanged
    assert more.tally == {"miss": len(ARMS), "hit": (len(EVALS) - 1) * len(ARMS)}
    entries = sorted((cache / "results").rglob("*.json"))
    assert len(entries) == (len(EVALS) + 1) * len(ARMS)
