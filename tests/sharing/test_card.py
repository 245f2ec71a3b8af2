"""The data card: a DVC output of card@<spec>, byte-identical across builds, figures as metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars
import pytest
import yaml
from tinyrepo import CORPUS, SPEC, clone, digest, dvc, env, msm, run, stages_run

from pipeline.card import _budget_line

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
    assert quality.get("tokens_out") is None  # no budget in the test params: not counted
    assert "No token budget (`quality.max_tokens: 0`)" in card
    meta = front_matter(card)
    assert meta["license"] == "unknown"  # the spec states none
    manifest = json.loads((built / CORPUS / "generate" / "manifest.json").read_text())
    for value in (manifest["spec_hash"], manifest["model"], manifest["prompt_template_hash"]):
        assert f"`{value}`" in card
    assert str(built) not in card


def section(card: str, heading: str) -> str:
    """The text under `## heading`, up to the next `## `."""
    start = card.index(f"\n## {heading}\n") + len(heading) + 5
    end = card.find("\n## ", start)
    return card[start : end if end >= 0 else len(card)]


def rows(table: str) -> list[list[str]]:
    """The body rows of the Markdown table(s) in `table`, cells stripped."""
    cells = [
        [c.strip() for c in ln.strip().strip("|").split("|")]
        for ln in table.splitlines()
        if ln.startswith("|")
    ]
    return [r for r in cells[1:] if not all(set(c) <= {"-"} for c in r)]


def test_card_names_the_spec_generator_and_licence(built: Path) -> None:
    card = (built / CORPUS / "README.md").read_text()
    spec = front_matter((built / "specs" / f"{SPEC}.md").read_text())
    meta = front_matter(card)
    assert meta["pretty_name"] == f"{spec['title']} (MSM corpus)"
    assert f"\n# {spec['title']}: a Model Spec Midtraining corpus\n" in card
    assert f"Model Spec `{SPEC}`: {spec['description']}" in card
    manifest = json.loads((built / CORPUS / "generate" / "manifest.json").read_text())
    params = yaml.safe_load((built / "params.yaml").read_text())
    backend = params["generate"]["backend"]
    assert manifest["params"]["backend"] == backend
    provenance = dict(rows(section(card, "Provenance")))
    assert provenance["generator backend"] == f"`{backend}`"
    assert provenance["generator model"] == f"`{manifest['model']}`"
    assert provenance["spec"] == f"`specs/{SPEC}.md`"
    # the spec states no licence: the card says so and how to state one
    assert "license" not in spec and meta["license"] == "unknown"
    assert provenance["licence"] == "not stated (add `license:` to the spec front matter)"


def test_card_document_types_are_the_final_documents(built: Path) -> None:
    card = (built / CORPUS / "README.md").read_text()
    quality = json.loads((built / CORPUS / "stats" / "quality.json").read_text())
    table = rows(section(card, "Document types"))
    shown = {t: int(n.replace(",", "")) for t, n, _ in table}
    assert sum(shown.values()) == quality["documents_out"]
    docs = polars.read_parquet(built / CORPUS / "quality" / "documents.parquet")
    assert shown == dict(Counter(docs["doc_type"].to_list()))
    for doc_type, n, share in table:
        assert share == f"{int(n.replace(',', '')) / quality['documents_out']:.3f}", doc_type
    assert len(shown) > 1  # the profile asks for two doc types per section


def test_card_tokenizer_and_packing_are_the_shard_manifest(built: Path) -> None:
    card = (built / CORPUS / "README.md").read_text()
    shards = json.loads((built / CORPUS / "shards" / "manifest.json").read_text())
    params = yaml.safe_load((built / "params.yaml").read_text())
    tok = shards["tokenizer"]
    assert dict(rows(section(card, "Tokenizer and packing"))) == {
        "tokenizer": f"`{tok['name']}`",
        "tokenizer sha256": f"`{tok['sha256']}`",
        "vocabulary size": f"{tok['vocab_size']:,}",
        "EOS id (also padding)": str(tok["eos_id"]),
        "sequence length": f"{params['pack']['seq_len']:,}",
        "validation fraction": f"{params['pack']['val_fraction']:g}",
        "minimum piece": f"{shards['packing']['min_piece']:,}",
        "maximum padding": f"{shards['packing']['max_padding']:,}",
    }
    assert shards["seq_len"] == params["pack"]["seq_len"]
    assert shards["params"]["val_fraction"] == params["pack"]["val_fraction"]


def test_card_loading_instructions_work(built: Path, tmp_path: Path) -> None:
    """Run the card's "How to load it" lines for real: its Python snippet on an export of the
    corpus (offline) and its shard check."""
    card = (built / CORPUS / "README.md").read_text()
    how = section(card, "How to load it")
    assert f"`msm export {SPEC} DIR`" in how
    snippets = re.findall(r"```python\n(.*?)```", how, flags=re.S)
    assert len(snippets) == 1, how
    out = tmp_path / "export"
    msm(built, "export", SPEC, str(out))
    script = snippets[0].replace('"DIR', f'"{out}') + (
        "import json\n"
        "print(json.dumps({'splits': {k: v.num_rows for k, v in ds.items()}, 'rows': df.height}))\n"
    )
    environ = env() | {"HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{script}\n{done.stderr[-3000:]}"
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    pack = json.loads((built / CORPUS / "stats" / "pack.json").read_text())
    expected = {"train": pack["train"]["documents"], "validation": pack["val"]["documents"]}
    assert loaded == {"splits": expected, "rows": sum(expected.values())}

    shards = f"corpora/{SPEC}/shards"
    assert f"`msm verify {shards}`" in how and "`training.data.PackedDataset`" in how
    msm(built, "verify", shards)
    from training.data import PackedDataset

    assert len(PackedDataset(built / shards, "train")) == pack["train"]["sequences"]


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


def test_the_card_states_a_token_budget_with_its_count() -> None:
    stats = {"tokens_out": 12345, "token_budget": 20000, "token_shortfall": 7655}
    line = _budget_line(stats)
    assert line == "Tokens after the quality filter: 12,345 (token budget 20,000, shortfall 7,655)."
    assert _budget_line({**stats, "tokens_out": None}).startswith("No token budget")
