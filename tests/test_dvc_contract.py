"""The DVC contract, on a copy of the repository in a temp dir with a tiny params profile.

One built copy is shared by the tests of this module, which run in order: fresh build, spec
edits, push/pull through a local remote, then an experiment on the other spec.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from scratch import copy_tracked, discarded

from pipeline.report.figures import PAPER
from tests.browser import rendered_dom, screenshot
from tests.report_dom import (
    not_blank,
    shown_cells,
    shown_corpus,
    shown_figures,
    shown_numbers,
    shown_paper,
)
from training.studies.compare import format_cell

pytestmark = pytest.mark.slow(seconds=580)

ROOT = Path(__file__).resolve().parents[1]
SPECS = ["general", "rules"]
CORPUS_STAGES = ("generate", "dedup", "quality", "pack", "card")
SPEC_STAGES = ("train_msm", "train_aft", "evaluate")
"""The experiment stages that read the active spec's corpus (directly or through MSM)."""
EXPERIMENT_STAGES = (*SPEC_STAGES, "train_aft_only")

TINY = {
    "specs": SPECS,
    "spec": "general",
    "generate": {"doc_types_per_section": 2, "ideas_per_doc_type": 3},
    "pack": {"seq_len": 128, "val_fraction": 0.2},
    "train_msm": {"max_steps": 2, "batch_tokens": 256, "micro_batch_rows": 2},
    "aft_data": {"samples": 16},
    "train_aft": {"max_steps": 2, "batch_size": 4, "max_length": 64},
    "evaluate": {
        "val_sequences": 4,
        "value_generalization": {"max_items": 2},
        "spec_knowledge": {"max_pairs": 4},
    },
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", DVC_NO_ANALYTICS="1")
    env.setdefault("GIT_AUTHOR_NAME", "test")
    env.setdefault("GIT_AUTHOR_EMAIL", "test@example.com")
    env.setdefault("GIT_COMMITTER_NAME", "test")
    env.setdefault("GIT_COMMITTER_EMAIL", "test@example.com")
    return env


def sh(cwd: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def dvc(cwd: Path, *args: str) -> str:
    return sh(cwd, sys.executable, "-m", "dvc", *args)


def ran(output: str) -> set[str]:
    return {
        line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")
    }


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) else v
    return out


def _insert_after(spec: Path, marker: str, line: str) -> None:
    lines = spec.read_text(encoding="utf-8").splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.startswith(marker))
    lines.insert(i + 1, line)
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def repo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    dst = copy_tracked(tmp_path_factory.mktemp("repo"), skip=("dvc.lock",))
    params = yaml.safe_load((dst / "params.yaml").read_text())
    (dst / "params.yaml").write_text(yaml.safe_dump(_merge(params, TINY), sort_keys=False))
    sh(dst, "git", "init", "-q")
    sh(dst, "git", "add", "-A")
    sh(dst, "git", "commit", "-qm", "tiny profile")
    with discarded(request, dst):
        yield dst


def test_fresh_repro_builds_everything_and_second_runs_nothing(repo: Path) -> None:
    out = dvc(repo, "repro")
    expected = {"base_model", "aft_data", *EXPERIMENT_STAGES}
    expected |= {f"{s}@{spec}" for s in CORPUS_STAGES for spec in SPECS}
    assert ran(out) == expected
    for spec in SPECS:
        for sub in ("plan.json", "generate", "dedup", "quality", "shards", "cache"):
            assert (repo / "corpora" / spec / sub).exists(), f"missing corpora/{spec}/{sub}"
        sh(repo, "msm", "verify", f"corpora/{spec}/shards")
    for path in ("models/base", "models/msm", "models/aft", "models/aft_only", "data/aft"):
        assert (repo / path).exists(), path
    loss = json.loads((repo / "metrics/heldout_loss.json").read_text())
    assert loss["spec"] == "general"
    vg = json.loads((repo / "metrics/value_generalization.json").read_text())
    assert set(vg["models"]) == {"base", "msm", "aft", "aft_only"}
    assert set(vg["models"]["aft"]) == {"affordability", "america"}
    assert (repo / "metrics/value_generalization.parquet").is_file()
    sk = json.loads((repo / "metrics/spec_knowledge.json").read_text())
    assert sk["spec"] == "general" and sk["set"]["source"] == "checked_in"
    assert {m["n"] for m in sk["models"].values()} == {4} and len(sk["models"]) == 4
    assert (repo / "metrics/spec_knowledge.parquet").is_file()
    # every training stage's per-step curves, as `dvc plots show` and `dvc metrics show` read them
    plots = dvc(repo, "plots", "show", "--json")
    metrics = json.loads(dvc(repo, "metrics", "show", "--json"))
    for stage in ("train_msm", "train_aft", "train_aft_only"):
        assert f"metrics/{stage}/plots/metrics/loss.tsv" in plots, stage
        steps = TINY["train_aft" if "aft" in stage else "train_msm"]["max_steps"]
        assert f"metrics/{stage}/metrics.json" in json.dumps(metrics), stage
        curve = (repo / f"metrics/{stage}/plots/metrics/loss.tsv").read_text().splitlines()
        assert curve[0] == "step\tloss" and len(curve) == 1 + steps, curve
    assert ran(dvc(repo, "repro")) == set()
    assert "up to date" in dvc(repo, "status")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "built")


def test_outputs_hold_no_machine_dependent_bytes(repo: Path) -> None:
    """What dvc.lock records must be reproducible on another machine: no output names the
    folder it was built in, the temp folder or the host (those go to logs)."""
    marks = {str(repo).encode(), str(repo.parent).encode(), tempfile.gettempdir().encode() + b"/"}
    if len(host := socket.gethostname()) >= 6:
        marks.add(host.encode())
    outs = [repo / p for p in ("corpora", "models", "metrics", "data")]
    found = []
    for path in sorted(p for out in outs for p in out.rglob("*") if p.is_file()):
        head = path.open("rb").read(4 << 20)  # weights: their header and first tensors
        found += [f"{path.relative_to(repo)}: {m.decode()}" for m in marks if m in head]
    assert not found, found


def test_report_before_any_experiment(repo: Path) -> None:
    """The corpus half renders in a real browser, its numbers equal the stats files, and the
    experiment half says what is missing."""
    sh(repo, "msm", "report", "--out", "report.html")
    dom = rendered_dom(repo / "report.html")
    shown = shown_numbers(dom)
    for spec in SPECS:
        stats = repo / "corpora" / spec / "stats"
        generate = json.loads((stats / "generate.json").read_text())
        quality = json.loads((stats / "quality.json").read_text())
        assert shown[(spec, "generated")] == f"{generate['documents']:,}"
        assert shown[(spec, "after quality")] == f"{quality['documents_out']:,}"
        # every drop reason with its count, as the dedup and quality stats files say
        dropped = {s: json.loads((stats / f"{s}.json").read_text()) for s in ("dedup", "quality")}
        drops = {
            f"{stage}/{reason}": f"{n:,}"
            for stage, st in dropped.items()
            for reason, n in st.get("dropped", {}).items()
            if n
        }
        drops |= {f"generate/{r}": f"{n:,}" for r, n in (generate.get("failures") or {}).items()}
        assert {k: v for (s, k), v in shown_corpus(dom, "drop").items() if s == spec} == drops
        # statements with a final document, out of the plan's statements
        plan = json.loads((repo / "corpora" / spec / "plan.json").read_text())
        planned = {a["id"] for section in plan["sections"] for a in section["assertions"]}
        docs = pq.read_table(repo / "corpora" / spec / "quality" / "documents.parquet")
        covered = {a for ids in docs.column("assertion_ids").to_pylist() for a in ids} & planned
        statements = shown_corpus(dom, "what")[(spec, "statements")]
        assert statements == f"{len(covered)} of {len(planned)}"
    assert "No experiments yet" in dom
    assert dom.count('class="main-svg"') >= 4 * len(SPECS)  # plotly drew, offline
    assert not_blank(screenshot(repo / "report.html", repo / "report.png"))


def test_spec_edit_reruns_only_that_spec(repo: Path) -> None:
    untouched = tree_digest(repo / "corpora" / "general")
    _insert_after(repo / "specs/rules.md", "- **GP1.**", "  - Ask before using a new tool.")
    out = dvc(repo, "repro")
    assert ran(out) == {f"{s}@rules" for s in CORPUS_STAGES}
    assert tree_digest(repo / "corpora" / "general") == untouched

    # the active spec: its corpus stages and the experiment stages rerun, aft_data does not
    (repo / "specs/general.md").write_text(
        (repo / "specs/general.md").read_text() + "\nIt says so plainly when it is unsure.\n"
    )
    out = dvc(repo, "repro")
    # the AFT-only arm never reads the spec: it does not rerun
    assert ran(out) == {f"{s}@general" for s in CORPUS_STAGES} | set(SPEC_STAGES)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "spec edits")


def test_push_clone_pull_is_clean(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    dvc(repo, "remote", "add", "-d", "local", str(remote))
    dvc(repo, "push")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "remote")
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    dvc(clone, "pull")
    assert "up to date" in dvc(clone, "status")
    assert ran(dvc(clone, "repro")) == set()
    assert tree_digest(clone / "corpora") == tree_digest(repo / "corpora")


def test_exp_run_on_other_spec(repo: Path) -> None:
    out = dvc(repo, "exp", "run", "-S", "spec=rules")
    assert ran(out) == set(SPEC_STAGES)  # train_aft_only is shared by every spec
    assert json.loads((repo / "metrics/heldout_loss.json").read_text())["spec"] == "rules"
    # base and aft_only are unchanged: the evals whose inputs do not depend on the spec
    # (value_generalization, agentic_misalignment) take them from the eval cache
    assert "evaluate: 12 results per eval and model scored, 4 taken from" in out, out[-3000:]
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    text = json.dumps(shown)
    assert '"spec": "rules"' in text and "heldout_loss" in text
    # the README's line for the eval headlines: few columns, each arm's rates among them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("dvc exp show --drop"))
    columns = dvc(repo, *shlex.split(line)[1:], "--csv").splitlines()[0].split(",")
    assert len(columns) < 20, columns
    for arm in ("base", "msm", "aft", "aft_only"):
        assert f"models.{arm}.affordability.rate" in columns, columns


TINY_STUDY = {
    "title": "tiny",
    "description": "two specs x two seeds on the tiny profile",
    "specs": SPECS,
    "seeds": [0, 1],
    "variants": {"plain": {}},
    "params": {"evaluate": {"evals": ["heldout_loss"]}},  # the cheapest eval: 4 arms, 1 number
    "cpu": {"profile": ""},
    "gpu": {"profile": ""},
    "reported": [{"spec": "general", "arm": "aft", "metric": "heldout_loss", "value": 2.5}],
}


def test_study_queued_run_compared_and_reported(repo: Path) -> None:
    """`msm study` queues 2 specs x 2 seeds, `dvc queue start` runs them, `msm compare` reports
    mean and SEM over the seeds as computed here by hand, and the report shows the same."""
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "before the study")
    (repo / "studies/tiny.yaml").write_text(yaml.safe_dump(TINY_STUDY, sort_keys=False))
    sh(repo, "msm", "study", "tiny")
    dvc(repo, "queue", "start", "-j", "1")
    deadline = time.monotonic() + 1200
    while any(w in dvc(repo, "queue", "status") for w in ("Queued", "Running")):
        assert time.monotonic() < deadline, dvc(repo, "queue", "status")
        time.sleep(5)
    status = dvc(repo, "queue", "status")
    assert status.count("Success") >= 4 and "Failed" not in status, status
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    exps = {
        r["name"]: r["data"]["metrics"]
        for base in shown
        for e in base.get("experiments") or []
        for r in e["revs"]
    }
    figures = {g["group"]: g for g in json.loads(sh(repo, "msm", "compare", "tiny", "--json"))}
    assert set(figures) == {f"tiny-{spec}-plain" for spec in SPECS}
    for spec in SPECS:
        losses = [
            exps[f"tiny-{spec}-plain-s{seed}"]["metrics/heldout_loss.json"]["data"]["models"]["aft"]
            for seed in (0, 1)
        ]
        got = figures[f"tiny-{spec}-plain"]["metrics"]["heldout_loss:aft"]
        assert got["seeds"] == 2
        assert got["mean"] == pytest.approx(sum(losses) / 2)
        assert got["sem"] == pytest.approx(abs(losses[0] - losses[1]) / 2)  # sd/sqrt(2), n=2
    sh(repo, "msm", "report", "--out", "report.html")
    dom = rendered_dom(repo / "report.html")
    cells = shown_cells(dom)
    for label, group in figures.items():
        for key, c in group["metrics"].items():
            metric, arm = key.rsplit(":", 1)
            assert cells[(label, arm, metric)] == format_cell(c["mean"], c["sem"], c["seeds"])
    # the training curves: one figure per group, a panel per training stage, a line per seed
    drawn = shown_figures(dom)
    curves = {f.attrs["data-group"]: f for f in drawn if f.attrs["data-figure"] == "curves"}
    assert set(curves) == set(figures)
    assert sum(f.attrs["data-figure"] == "curves" for f in drawn) == len(figures)
    for label, fig in curves.items():
        assert fig.drawn
        for panel in ("MSM (train_msm)", "MSM + AFT (train_aft)", "AFT only (train_aft_only)"):
            assert panel in fig.text, fig.text
        assert {f"{label}-s0", f"{label}-s1"} <= set(fig.text), fig.text
    # the paper's figure: in its table and in the metric's figure, beside ours
    assert shown_paper(dom) == {("tiny-general-plain", "aft", "heldout_loss"): "2.50"}
    (loss,) = [f for f in drawn if f.attrs.get("data-metric") == "heldout_loss"]
    assert loss.drawn and PAPER in loss.text
    assert not_blank(screenshot(repo / "report.html", repo / "report-experiments.png"))


def test_local_base_model_reruns_only_what_reads_the_model(repo: Path) -> None:
    """`model.name` pointing at a local folder: base_model reruns, then exactly the stages that
    read the model or its tokenizer are stale (not generate, dedup or aft_data)."""
    local = repo / "models/local/smollm2"
    shutil.copytree(repo / "models/base", local)
    (local / "manifest.json").unlink()
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"]["name"] = "models/local/smollm2"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(dvc(repo, "repro", "base_model")) == {"base_model"}
    manifest = json.loads((repo / "models/base/manifest.json").read_text())
    assert (manifest["source"], manifest["name"]) == ("local", "models/local/smollm2")
    assert "model.safetensors" in manifest["source_files"]
    stale = set(json.loads(dvc(repo, "status", "--json")))
    expected = {f"{s}@{spec}" for s in ("quality", "pack") for spec in SPECS}
    assert stale == expected | set(EXPERIMENT_STAGES)
