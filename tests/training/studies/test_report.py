"""The experiment half of `msm report` from fixed inputs, rendered in headless Chromium: a saved
`dvc exp show --json` (data/exp_show.json), training curves in the layout the trainers write
(`training.curves.write_curves`) and a study whose `reported:` entry is the paper's figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from pipeline.report import figures
from pipeline.report.experiments import (
    CURVE_STAGES,
    curve_files,
    experiments_view,
    paper_figures,
)
from pipeline.report.page import Page, experiments_section
from tests.browser import rendered_dom, screenshot
from tests.report_dom import not_blank, shown_cells, shown_figures, shown_paper
from training.curves import write_curves
from training.studies.compare import format_cell
from training.studies.runs import parse_runs

ROOT = Path(__file__).resolve().parents[3]
SHOWN = Path(__file__).with_name("data") / "exp_show.json"
AFFORDABILITY = "cheese-cheese_affordability-no_cot"
AMERICA = "cheese-cheese_america-no_cot"
METRIC = "value_generalization/affordability"
STUDY = {
    "title": "cheese",
    "description": "two cheese specs, one AFT set",
    "specs": ["cheese_affordability", "cheese_america"],
    "seeds": [0, 1, 2],
    "variants": {"no_cot": {"train_aft": {"cot": False}}, "cot": {"train_aft": {"cot": True}}},
    "params": {},
    "cpu": {"profile": ""},
    "gpu": {"profile": ""},
    "reported": [
        {"spec": "cheese_affordability", "arm": "aft", "metric": METRIC, "value": 0.48,
         "note": "MSM + AFT, Llama-3.1-8B base"},
        {"spec": "cheese_affordability", "variant": "cot", "arm": "aft", "metric": METRIC,
         "value": 0.5, "note": "a variant this repository has not run"},
    ],
}  # fmt: skip


def _history(stage: str, seed: int, steps: int) -> list[dict]:
    start = {"train_msm": 3.0, "train_aft": 2.0, "train_aft_only": 2.5}[stage]
    return [
        {"step": s, "loss": round(start - 0.1 * s - 0.01 * seed, 6), "lr": 1e-4, "grad_norm": 1.0}
        for s in range(1, steps + 1)
    ]


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory):
    """The cheese runs have MSM and MSM + AFT curves, AFT-only ones in one group only; the
    `scratch` run (group `spec=rules`) has none."""
    root = tmp_path_factory.mktemp("report")
    (root / "studies").mkdir()
    (root / "studies" / "cheese.yaml").write_text(yaml.safe_dump(STUDY, sort_keys=False))
    runs = parse_runs(json.loads(SHOWN.read_text()))
    files = curve_files(ROOT / "dvc.yaml")
    for run in runs:
        if run.name == "scratch":
            continue
        seed = int(run.params.get("train_seed", 0))
        for stage, path in files.items():
            if stage == "train_aft_only" and "america" in run.name:
                continue
            folder = root / "revs" / run.rev / Path(path).parent.parent.parent
            write_curves(folder, _history(stage, seed, 4), {"steps": 4})

    def read(path: str, rev: str) -> str | None:
        file = root / "revs" / rev / path
        return file.read_text() if file.is_file() else None

    return experiments_view(runs, paper_figures(root / "studies"), files, read)


@pytest.fixture(scope="module")
def report(view, tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = Page("report")
    experiments_section(page, view)
    out = tmp_path_factory.mktemp("html") / "report.html"
    out.write_text(page.render(), encoding="utf-8")
    return out


def test_every_training_stage_declares_its_curve_in_dvc_yaml() -> None:
    assert curve_files(ROOT / "dvc.yaml") == {
        stage: f"metrics/{stage}/plots/metrics/loss.tsv" for stage in CURVE_STAGES
    }


def test_curves_are_read_per_group_and_stage(view) -> None:
    got = view.curves[AFFORDABILITY]
    assert set(got) == set(CURVE_STAGES)
    assert set(got["train_aft"]) == {f"{AFFORDABILITY}-s{s}" for s in (0, 1, 2)}
    assert got["train_aft"][f"{AFFORDABILITY}-s1"] == [(1, 1.89), (2, 1.79), (3, 1.69), (4, 1.59)]
    assert set(view.curves[AMERICA]) == {"train_msm", "train_aft"}
    assert view.curves["spec=rules"] == {}


def test_the_papers_figure_is_a_marker_beside_ours_not_a_bar_over_it(view) -> None:
    fig = figures.metric(view, METRIC)
    ours = [t for t in fig.data if t.type == "bar"]
    (paper,) = [t for t in fig.data if t.name == figures.PAPER]
    assert paper.type == "scatter" and paper.mode == "markers"
    assert list(paper.x) == [AFFORDABILITY] and list(paper.y) == [0.48]
    assert paper.offsetgroup == "aft" and paper.showlegend
    assert "aft" in {t.offsetgroup for t in ours}  # in the slot of our MSM + AFT bar
    assert fig.layout.scattermode == "group" and fig.layout.barmode == "group"


def test_report_in_a_browser(report: Path) -> None:
    """One curve figure per group, its panels labelled by stage; our cells equal the means and
    SEMs of the metrics (worked out by hand); the paper's figure is in its table and in the
    metric's legend; the page is not blank."""
    dom = rendered_dom(report)
    shown = [f for f in shown_figures(dom) if f.attrs["data-figure"] == "curves"]
    curves = {f.attrs["data-group"]: f for f in shown}
    assert len(shown) == 2 and set(curves) == {AFFORDABILITY, AMERICA}
    assert "spec=rules: no training curve" in dom
    assert all(f.drawn for f in curves.values())
    for group, stages in ((AFFORDABILITY, CURVE_STAGES), (AMERICA, ("train_msm", "train_aft"))):
        text = curves[group].text
        assert [t for t in text if t.endswith(")") and "(train_" in t] == [
            f"{CURVE_STAGES[s]} ({s})" for s in stages
        ], text
        assert f"{group}-s0" in text and f"{group}: training loss per step" in text

    cells = shown_cells(dom)
    assert cells[(AFFORDABILITY, "aft", METRIC)] == format_cell(0.6, 0.1 / math.sqrt(3), 3)
    assert cells[(AMERICA, "aft", METRIC)] == format_cell(0.3, 0.05, 2)
    assert shown_paper(dom) == {(AFFORDABILITY, "aft", METRIC): "0.48"}  # not the unrun `cot`
    (metric,) = [f for f in shown_figures(dom) if f.attrs.get("data-metric") == METRIC]
    assert metric.drawn and figures.PAPER in metric.text

    assert not_blank(screenshot(report, report.with_suffix(".png")))


def test_same_inputs_same_bytes(view, report: Path) -> None:
    page = Page("report")
    experiments_section(page, view)
    assert page.render() == report.read_text(encoding="utf-8")
