"""Metrics across seeds: experiments that differ only in `train_seed` form a group, and each
headline figure of the group is the mean over its seeds with 1 SEM over the per-seed values
(sample standard deviation / sqrt(seeds)), as the paper reports them.

A headline is what an eval's metrics file reports per arm: `models.<arm>` as a number (a loss),
`models.<arm>.<rate>`, or `models.<arm>.<set>.<rate>` (one per eval set), where `<rate>` is
`rate` or `harmful_rate`, named `<eval>` or `<eval>/<set>`. A rate of null (nothing scored) is no
figure. Breakdowns (domains, scenarios, conditions) stay in the files.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from training.studies.runs import Run

SEED_KEY = "train_seed"
RATES = ("rate", "harmful_rate")
SEED_SUFFIX = re.compile(r"^(?P<group>.+)-s\d+$")


@dataclass(frozen=True)
class Cell:
    mean: float
    sem: float | None
    """None with one seed: there is no spread to report."""
    seeds: int
    values: tuple[float, ...]


@dataclass
class Group:
    label: str
    params: dict[str, Any]
    """The params every run of the group shares (all but `train_seed`)."""
    runs: list[Run] = field(default_factory=list)
    """The finished runs, one per seed."""
    missing: Counter = field(default_factory=Counter)
    """Runs of the group without metrics, by state (failed, queued, running)."""
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    """(metric, arm) -> mean and SEM over seeds."""

    @property
    def seeds(self) -> list[int]:
        return sorted(int(r.params.get(SEED_KEY, 0)) for r in self.runs)


def headlines(run: Run) -> dict[tuple[str, str], float]:
    """(metric, arm) -> value of one run."""
    out: dict[tuple[str, str], float] = {}
    for name, data in sorted(run.evals.items()):
        if data.get("ran") is False:
            continue
        for arm, value in data["models"].items():
            if _number(value):
                out[(name, arm)] = float(value)
            elif isinstance(value, dict):
                if (r := _rate(value)) is not None:
                    out[(name, arm)] = r
                for key, sub in value.items():
                    if isinstance(sub, dict) and (r := _rate(sub)) is not None:
                        out[(f"{name}/{key}", arm)] = r
    return out


def cell(values: list[float]) -> Cell:
    mean = statistics.fmean(values)
    sem = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return Cell(mean, sem, len(values), tuple(values))


def group_runs(runs: list[Run], prefix: str = "") -> list[Group]:
    """Groups of the experiments (not the workspace or baselines) whose name starts with
    `prefix`, in the order their first run appears."""
    groups: dict[tuple, Group] = {}
    for run in runs:
        if run.state in ("workspace", "baseline") or not run.name.startswith(prefix):
            continue
        shared = {k: v for k, v in run.params.items() if k != SEED_KEY}
        key = tuple(sorted((k, repr(v)) for k, v in shared.items()))
        group = groups.setdefault(key, Group(label="", params=shared))
        if run.state == "success" and run.evals:
            group.runs.append(run)
        else:
            group.missing[run.state if run.state != "success" else "no metrics"] += 1
    out = list(groups.values())
    for group in out:
        group.label = _label(group, out)
        values: dict[tuple[str, str], list[float]] = {}
        for run in sorted(group.runs, key=lambda r: int(r.params.get(SEED_KEY, 0))):
            for key, value in headlines(run).items():
                values.setdefault(key, []).append(value)
        group.cells = {key: cell(v) for key, v in values.items()}
    return out


def _label(group: Group, groups: list[Group]) -> str:
    """The experiments' common name without `-s<seed>`, else the params that set it apart."""
    names = {m.group("group") for r in group.runs if (m := SEED_SUFFIX.match(r.name))}
    if len(names) == 1 and len(group.runs) > 0:
        return names.pop()
    differing = sorted(
        k for k in group.params if any(g.params.get(k) != group.params[k] for g in groups)
    )
    shown = ["spec", *[k for k in differing if k != "spec"]]
    return ", ".join(f"{k}={group.params.get(k)}" for k in shown)


def _rate(node: dict) -> float | None:
    return next((float(node[k]) for k in RATES if _number(node.get(k))), None)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
