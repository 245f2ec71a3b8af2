"""Per-step training curves through dvclive, and the progress line a person watches.

The curves (loss, learning rate, gradient norm, tokens; with `log_throughput` also tokens/s and
MFU) are written with dvclive into the stage's metrics folder: `metrics.json` (the last step,
read by `dvc exp show`) and `plots/metrics/<name>.tsv` (read by `dvc plots show`). No timestamps
go in (`timestamp=False`), so the CPU default's curves are byte-identical from run to run. They
are kept in memory (and in every checkpoint, so a resumed run keeps its history) and written once
at the end, into a temporary folder renamed into place: a killed run never leaves half a curve.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.io import atomic_dir

log = logging.getLogger(__name__)


def write_curves(folder: Path, history: list[dict], summary: dict) -> None:
    """`history` in dvclive's layout: `plots/metrics/<name>.tsv` per curve and `metrics.json`
    (the last step's values, with `summary` under `run`).

    dvclive's file writers are used rather than `dvclive.Live`, whose start-up opens (and outside
    a DVC repository runs `dvc init` in) the enclosing Git repository: a stage writes its outputs
    and nothing else."""
    from dvclive.plots import Metric
    from dvclive.serialize import dump_json

    with atomic_dir(folder) as tmp:
        curves: dict[str, Metric] = {}
        for record in history:
            for name, value in record.items():
                if name != "step":
                    metric = curves.setdefault(name, Metric(name, str(tmp / "plots")))
                    metric.step = record["step"]
                    metric.dump(value, timestamp=False)
        last = history[-1] if history else {}
        dump_json({**last, "run": summary}, str(tmp / "metrics.json"))


class StepMeter:
    """A progress bar (tokens/s, ETA) on an interactive terminal, a log line every ~10% else."""

    def __init__(self, total: int, start: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.every = max(1, total // 10)
        self.progress = Progress(
            TextColumn("[bold]train_msm"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[rate]:,.0f} tok/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("steps", total=total, completed=start, loss=0.0, rate=0)
        self.t0 = time.perf_counter()

    def __enter__(self) -> StepMeter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, step: int, loss: float, tokens_per_s: float) -> None:
        if not self.enabled:
            return
        self.progress.update(self.task, completed=step, loss=loss, rate=tokens_per_s)
        if not self.progress.console.is_terminal and (step % self.every == 0 or step == self.total):
            log.info(
                "step %d/%d  loss %.4f  %.0f tok/s  %.0f s",
                step,
                self.total,
                loss,
                tokens_per_s,
                time.perf_counter() - self.t0,
            )
