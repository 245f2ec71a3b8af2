"""What every eval receives from `msm evaluate`: the arms, the params and the paths."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config.params import EvaluateParams
from pipeline.config.run import RunConfig
from training.evals.arms import Arms


@dataclass(frozen=True)
class EvalContext:
    arms: Arms
    params: EvaluateParams
    spec: str
    spec_file: Path
    """The active spec's file (`specs/<spec>.md`): spec_knowledge reads its sections."""
    seed: int
    shards: Path
    """The active spec's packed shards (held-out loss)."""
    cache: Path
    """The request cache of sampled answers (a persistent DVC output)."""
    run_config: RunConfig
    out_dir: Path
    """Where `<eval>.json` (and any per-item file) is written."""
    tally: Counter = field(default_factory=Counter, compare=False)
    """Per-model results taken from the eval cache (`hit`) or scored (`miss`) in this run."""

    def skipped(self, name: str) -> dict:
        """The metrics of an eval left out of `evaluate.evals` (DVC expects the file)."""
        return {"eval": name, "ran": False, "reason": "not listed in evaluate.evals"}
