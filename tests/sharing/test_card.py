"""The data card: a DVC output of card@<spec>, byte-identical across builds, figures as metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tinyrepo import CORPUS, SPEC, clone, digest, dvc, msm, run, stages_run

pytestmark = pytest.mark.slow


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card[4 : card.index("\n---\n", 4)])


def test_card_figures_are_the_metrics(built: Path) -> None:
    card = (built / CORPUS / "README.md").read_text()
    shown = json.loads(dvc(built, "metrics", "show", "--json").stdout)
    metrics = next(iter(shown.values()))["data"]
    stats = {Path(p).stem: m["data"] for p, m in metrics.items() if p.startswith(CORPUS)}
    gen, dedup, quality, pack = (stats[s] for s in ("generate", "dedup", "quality", "pack"))
    assert f"| generate | - | {gen['documents']:,} | 0 failed requests |" in card
    for name, s in (("dedup", dedup), ("quality", quality)):
        dropped = s["documents_in"] - s["documents_out"]
        assert f"| {name} | {s['documents_in']:,} | {s['documents_out']:,} | {dropped:,} |" in card
    for reason, n in dedup["dropped"].items():
        assert f"| dedup | {reason} | {n:,} |" in card
    for split, s in pack.items():
        row = f"| {split} | {s['documents']:,} | {s['sequences']:,} | {s['tokens']:,} |"
        assert row in card
    assert f"Tokens after the quality filter: {quality['tokens_out']:,}" in card
    meta = front_matter(card)
    assert meta["license"] == "unknown"  # the spec states none
    manifest = json.loads((built / CORPUS / "generate" / "manifest.json").read_text())
    for value in (manifest["spec_hash"], manifest["model"], manifest["prompt_template_hash"]):
        assert f"`{value}`" in card
    assert str(built) not in card


def test_card_and_corpus_are_byte_identical_when_built_again_elsewhere(
    built: Path, shared_folder: Path, tmp_path: Path
) -> None:
    other = clone(built, tmp_path / "elsewhere")
    dvc(other, "remote", "add", "--local", "folder", str(shared_folder))
    dvc(other, "pull", "-r", "folder", "base_model")
    done = dvc(other, "repro")
    assert stages_run(done) == {
        f"{s}@{SPEC}" for s in ("generate", "dedup", "quality", "pack", "card")
    }
    assert digest(other / CORPUS) == digest(built / CORPUS)
    run(other, "git", "diff", "--exit-code", "dvc.lock")


def test_licence_comes_from_the_spec_front_matter(built: Path, tmp_path: Path) -> None:
    spec = (built / "specs" / f"{SPEC}.md").read_text()
    licensed = tmp_path / f"{SPEC}.md"
    licensed.write_text(spec.replace("kind: rules\n", "kind: rules\nlicense: cc-by-4.0\n", 1))
    out = tmp_path / "README.md"
    stats = [f"{CORPUS}/stats/{s}.json" for s in ("generate", "dedup", "quality", "pack")]
    msm(
        built, "card", "--spec", str(licensed), "--generate", f"{CORPUS}/generate",
        "--documents", f"{CORPUS}/quality", "--shards", f"{CORPUS}/shards",
        "--stats", *stats, "--out", str(out),
    )  # fmt: skip
    card = out.read_text()
    assert front_matter(card)["license"] == "cc-by-4.0"
    assert "| licence | cc-by-4.0 |" in card


def test_card_stage_names_a_missing_input(built: Path, tmp_path: Path) -> None:
    stats = [f"{CORPUS}/stats/{s}.json" for s in ("generate", "dedup", "quality", "pack")]
    done = msm(
        built, "card", "--spec", f"specs/{SPEC}.md", "--generate", str(tmp_path / "nowhere"),
        "--documents", f"{CORPUS}/quality", "--shards", f"{CORPUS}/shards",
        "--stats", *stats, "--out", str(tmp_path / "README.md"), ok=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "nowhere/manifest.json: missing" in done.stderr
    assert not (tmp_path / "README.md").exists()
