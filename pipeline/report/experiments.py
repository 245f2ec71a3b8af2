"""The experiment half of the report: eval headlines across seeds, the paper's figures beside
them, and the MSM training curves of every run.

The experiments are what `dvc exp show --json` lists (grouped as `msm compare` groups them); a
run's curve is its `train_msm` plot file read at the run's commit through `dvc.api`, from the
local DVC cache. The paper's figures come from the studies' `reported:` entries and sit beside
the group the study names `<study>-<spec>-<variant>`.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.layout import read_stages
from training.studies.aggregate import Group, group_runs
from training.studies.runs import read_runs
from training.studies.study import load_study

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paper:
    label: str
    """The group the figure belongs to."""
    arm: str
    metric: str
    value: float
    note: str


@dataclass
class ExperimentsView:
    groups: list[Group] = field(default_factory=list)
    paper: list[Paper] = field(default_factory=list)
    curves: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    """group label -> run name -> (step, MSM training loss)."""
    missing: str = ""
    """Why there is nothing to show, when there is nothing."""


def read_experiments(
    studies: Path = Path("studies"), dvc_yaml: Path = Path("dvc.yaml")
) -> ExperimentsView:
    try:
        runs = read_runs(dvc_yaml.parent)
    except InputError as err:
        return ExperimentsView(missing=f"`dvc exp show` could not list experiments: {err}")
    groups = group_runs(runs)
    if not groups:
        return ExperimentsView(
            missing="No experiments yet. Queue a study with `msm study NAME` (`msm study` lists "
            "them), run it with `dvc queue start`, then rebuild this report."
        )
    view = ExperimentsView(groups=groups, paper=paper_figures(studies))
    plots = _curve_file(dvc_yaml)
    for group in groups:
        view.curves[group.label] = {}
        for run in group.runs:
            points = _curve(plots, run.rev, dvc_yaml.parent) if plots else []
            if points:
                view.curves[group.label][run.name] = points
    return view


def paper_figures(studies: Path) -> list[Paper]:
    out = []
    for path in sorted(studies.glob("*.yaml")):
        study = load_study(path.stem, studies)
        for r in study.reported:
            variants = [r.variant] if r.variant else list(study.variants)
            for variant in variants:
                label = f"{path.stem}-{r.spec}-{variant}"
                out.append(Paper(label, r.arm, r.metric, r.value, r.note))
    return out


def _curve_file(dvc_yaml: Path) -> str | None:
    """`train_msm`'s plot folder (from dvc.yaml) and the loss file in it."""
    plots = read_stages(dvc_yaml).get("train_msm", {}).get("plots") or []
    for entry in plots:
        folder = next(iter(entry)) if isinstance(entry, dict) else str(entry)
        return f"{folder.rstrip('/')}/loss.tsv"
    return None


def _curve(path: str, rev: str, repo: Path) -> list[tuple[int, float]]:
    import dvc.api  # DVC's API is slow to import; only the curves need it
    from dvc.exceptions import DvcException

    try:
        text = dvc.api.read(path, repo=str(repo), rev=rev)
    except (DvcException, FileNotFoundError) as err:
        log.warning("no training curve for %s at %s: %s", path, rev[:7], err)
        return []
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return [(int(r["step"]), float(r["loss"])) for r in rows]
