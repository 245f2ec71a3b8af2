"""`msm show`: documents, funnel and rejects of a corpus built in a temp folder laid out like the
repository (its dvc.yaml), by the real stages."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import build_tokenizer
from msmrun import msm_in
from testprofile import section

from pipeline.dedup.stage import dedup
from pipeline.generate.stage import generate
from pipeline.io import write_json
from pipeline.layout import corpus_paths
from pipeline.pack.stage import pack
from pipeline.quality.filters import Context
from pipeline.quality.stage import quality
from pipeline.record import DOCUMENTS, read_documents, to_table, write_documents
from pipeline.spec.parse import load_spec
from pipeline.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
GP = section("generate", doc_types_per_section=2, ideas_per_doc_type=2)


@pytest.fixture
def repo(tmp_path: Path, write_spec: Callable[..., Path]) -> Path:
    """A repository folder with the spec `small` and its corpus: the offline generator's
    documents plus an exact copy of one (dedup drops it) and a two-word one (quality drops it)."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    spec = load_spec(write_spec(folder=tmp_path / "specs"))
    paths = corpus_paths("small", tmp_path / "dvc.yaml")
    gen = tmp_path / paths["generate"].out
    generate(spec, GP, 0, tmp_path / "plan.json", tmp_path / "cache", gen)
    rows = read_documents(gen / DOCUMENTS).to_pylist()
    rows.append({**rows[0], "id": "small/zz-copy"})
    rows.append({**rows[1], "id": "small/zz-short", "text": "Orbit agrees."})
    write_documents(to_table(rows), gen / DOCUMENTS)
    write_json(tmp_path / paths["generate"].stats, {"documents": len(rows), "failures": {}})
    ded = dedup(gen / DOCUMENTS, tmp_path / paths["dedup"].out, section("dedup"))
    write_json(tmp_path / paths["dedup"].stats, ded)
    tok = tmp_path / "tokenizer"
    build_tokenizer(tok, [r["text"] for r in rows])
    qual = quality(
        tmp_path / paths["dedup"].out / DOCUMENTS,
        tmp_path / paths["quality"].out,
        section("quality"),
        0,
        Context(spec.model_name),
        load_tokenizer(tok).tokenizer,
    )
    write_json(tmp_path / paths["quality"].stats, qual)
    manifest = pack(
        tmp_path / paths["quality"].out / DOCUMENTS,
        tok,
        tmp_path / paths["pack"].out,
        section("pack", seq_len=64),
        0,
        "m",
    )
    write_json(tmp_path / paths["pack"].stats, manifest["splits"])
    return tmp_path


def test_show_prints_documents_filtered_by_section_and_type(repo: Path) -> None:
    final = read_documents(repo / "corpora/small/quality" / DOCUMENTS).to_pylist()
    proc = msm_in(repo, "show", "small", "-n", "2", "--chars", "0")
    assert proc.returncode == 0, proc.stderr
    assert f"small: 2 of {len(final)} documents (corpora/small/quality/documents.parquet)" in (
        proc.stdout
    )
    shown = [r for r in final if f"== {r['id']}  (section" in proc.stdout]
    assert len(shown) == 2 and all(r["text"].strip() in proc.stdout for r in shown)

    doc_type = next(r["doc_type"] for r in final if r["section_id"] == "pruning")
    proc = msm_in(repo, "show", "small", "--section", "pruning", "--doc-type", doc_type, "-n", "9")
    assert proc.returncode == 0, proc.stderr
    want = [r for r in final if r["section_id"] == "pruning" and r["doc_type"] == doc_type]
    assert f"{len(want)} of {len(want)} documents" in proc.stdout
    assert proc.stdout.count("== ") == len(want)
    assert all(
        f"(section pruning, {doc_type}," in line
        for line in proc.stdout.splitlines()
        if line.startswith("== ")
    )


def test_show_funnel_follows_the_stats_files(repo: Path) -> None:
    proc = msm_in(repo, "show", "small", "--funnel")
    assert proc.returncode == 0, proc.stderr
    lines = {ln.split()[0] + ln.split()[1]: ln for ln in proc.stdout.splitlines()[2:]}
    gen = len(read_documents(repo / "corpora/small/generate" / DOCUMENTS))
    after_dedup = len(read_documents(repo / "corpora/small/dedup" / DOCUMENTS))
    after_quality = len(read_documents(repo / "corpora/small/quality" / DOCUMENTS))
    assert lines["generated" + str(gen)]
    assert "exact_duplicate 1" in lines["after" + "dedup"]
    assert f"{after_dedup}  -1:" in lines["after" + "dedup"]
    assert f"{after_quality}  -{after_dedup - after_quality}:" in lines["after" + "quality"]
    assert "tokens (train" in lines["packed" + str(after_quality)]


def test_show_rejects_gives_each_drop_and_its_reason(repo: Path) -> None:
    proc = msm_in(repo, "show", "small", "--rejects")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dedup@small: dropped 1 (exact_duplicate 1)" in out
    assert "exact_duplicate: small/zz-copy" in out
    assert "quality@small: dropped" in out
    assert "small/zz-short" in out and "Orbit agrees." in out


def test_show_names_the_command_that_builds_a_missing_corpus(repo: Path) -> None:
    shutil.rmtree(repo / "corpora")
    proc = msm_in(repo, "show", "small")
    assert proc.returncode == 2
    assert "corpora/small/quality/documents.parquet: not built yet" in proc.stderr
    assert "dvc repro quality@small" in proc.stderr
    proc = msm_in(repo, "show", "small", "--funnel")
    assert proc.returncode == 2 and "dvc repro pack@small" in proc.stderr
    proc = msm_in(repo, "show", "smal")
    assert proc.returncode == 2
    assert "specs/smal.md: no such spec; did you mean 'small'?" in proc.stderr


def test_show_unknown_section_or_type_lists_the_known_ones(repo: Path) -> None:
    proc = msm_in(repo, "show", "small", "--section", "prunning")
    assert proc.returncode == 2 and "did you mean 'pruning'?" in proc.stderr
    assert "sections: overview, pruning, soil, watering" in proc.stderr
    proc = msm_in(repo, "show", "small", "--doc-type", "nope")
    assert proc.returncode == 2 and "document types: " in proc.stderr
