"""The experiment half of the report: eval headlines across seeds, the paper's figures beside
them, and the training curves of every run.

The experiments are what `dvc exp show --json` lists (grouped as `msm compare` groups them); a
run's curves are the loss plot files of its training stages (`train_msm`, `train_aft`,
`train_aft_only`: the `plots:` folders in dvc.yaml) read at the run's commit through `dvc.api`,
from the local DVC cache. The paper's figures come from the studies' `reported:` entries and sit
beside the group the study names `<study>-<spec>-<variant>`.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.layout import read_stages
from training.studies.aggregate import Group, group_runs
from training.studies.runs import Run, read_runs
from training.studies.study import load_study

log = logging.getLogger(__name__)

CURVE_STAGES = {"train_msm": "MSM", "train_aft": "MSM + AFT", "train_aft_only": "AFT only"}
"""The training stages whose loss curves the report draws, with the arm each one trains."""

Reader = Callable[[str, str], str | None]
"""(path, rev) -> the file's text at that commit, or None where the run has no such file."""


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
    curves: dict[str, dict[str, dict[str, list[tuple[int, float]]]]] = field(default_factory=dict)
    """group label -> training stage (`CURVE_STAGES`) -> run name -> (step, training loss)."""
    missing: str = ""
    """Why there is nothing to show, when there is nothing."""


def read_experiments(
    studies: Path = Path("studies"), dvc_yaml: Path = Path("dvc.yaml")
) -> ExperimentsView:
    try:
        runs = read_runs(dvc_yaml.parent)
    except InputError as err:
        return ExperimentsView(missing=f"`dvc exp show` could not list experiments: {err}")
    return experiments_view(
        runs, paper_figures(studies), curve_files(dvc_yaml), dvc_reader(dvc_yaml.parent)
    )


def experiments_view(
    runs: list[Run], paper: list[Paper], files: dict[str, str], read: Reader
) -> ExperimentsView:
    """The view of `runs` (as `dvc exp show --json` lists them): `files` are the loss files per
    training stage (`curve_files`), `read` fetches one at a run's commit."""
    groups = group_runs(runs)
    if not groups:
        return ExperimentsView(
            missing="No experiments yet. Queue a study with `msm study NAME` (`msm study` lists "
            "them), run it with `dvc queue start`, then rebuild this report."
        )
    view = ExperimentsView(groups=groups, paper=paper)
    for group in groups:
        view.curves[group.label] = {}
        for stage, path in files.items():
            found = {}
            for run in group.runs:
                text = read(path, run.rev)
                if text:
                    found[run.name] = parse_curve(text, f"{path} at {run.rev[:7]}")
            if found:
                view.curves[group.label][stage] = found
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


def curve_files(dvc_yaml: Path) -> dict[str, str]:
    """Training stage -> the loss file in its plot folder (dvc.yaml `plots:`), for the stages of
    `CURVE_STAGES` that declare one."""
    stages = read_stages(dvc_yaml)
    out = {}
    for stage in CURVE_STAGES:
        for entry in stages.get(stage, {}).get("plots") or []:
            folder = next(iter(entry)) if isinstance(entry, dict) else str(entry)
            out[stage] = f"{folder.rstrip('/')}/loss.tsv"
            break
    return out


def dvc_reader(repo: Path) -> Reader:
    """Reads a DVC-tracked file at a commit of `repo` from the local cache."""

    def read(path: str, rev: str) -> str | None:
        import dvc.api  # DVC's API is slow to import; only the curves need it
        from dvc.exceptions import DvcException

        try:
            return dvc.api.read(path, repo=str(repo), rev=rev)
        except (DvcException, FileNotFoundError) as err:
            log.warning("no training curve for %s at %s: %s", path, rev[:7], err)
            return None

    return read


def parse_curve(text: str, where: str) -> list[tuple[int, float]]:
    """(step, loss) from a dvclive `loss.tsv` (columns `step` and `loss`)."""
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    try:
        return [(int(r["step"]), float(r["loss"])) for r in rows]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"{where}: not a dvclive loss curve (a `step` and a `loss` column, tab-separated): "
            f"{err!r}"
        ) from err
