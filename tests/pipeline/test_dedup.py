"""pipeline.dedup: exact and MinHash-LSH near-duplicate removal on small Parquet files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import random_text
from msmrun import msm_in
from testprofile import section

from pipeline.dedup.minhash import shingles
from pipeline.dedup.stage import dedup
from pipeline.errors import InputError
from pipeline.io import MANIFEST
from pipeline.record import REJECT_SCHEMA, SCHEMA, RecordError, read_documents
from pipeline.text import normalize_words

TESTS = Path(__file__).resolve().parents[1]

DP = section("dedup")


def change_words(text: str, positions: list[int]) -> str:
    words = text.split(" ")
    for p in positions:
        words[p] = "zebra"
    return " ".join(words)


@pytest.fixture
def corpus(make_text: Callable[..., str]) -> dict[str, str]:
    base = {f"doc-{i}": make_text(i, 300) for i in range(1, 6)}
    a, b = base["doc-1"], base["doc-2"]
    return {
        **base,
        # exact duplicates of doc-1 up to case, whitespace and punctuation
        "doc-1-upper": a.upper(),
        "doc-1-spaced": "  " + a.replace(" ", "\n   ").replace(".", " !") + "\n\n",
        # a near duplicate of doc-2 with a smaller id: it is the cluster's survivor
        "doc-0-near": change_words(b, [40, 120, 200]),
    }


def run(tmp_path: Path, make_records: Callable[..., Path], docs: dict[str, str]) -> dict:
    src = make_records(tmp_path / "in", list(docs.items()))
    out = tmp_path / "out"
    stats = dedup(src, out, DP)
    kept = read_documents(out / "documents.parquet")
    rejects = read_documents(out / "rejects.parquet", REJECT_SCHEMA)
    return {
        "stats": stats,
        "kept": kept.column("id").to_pylist(),
        "rejects": dict(zip(rejects["id"].to_pylist(), rejects["reason"].to_pylist(), strict=True)),
        "reject_table": rejects,
        "clusters": json.loads((out / "clusters.json").read_text()),
        "manifest": json.loads((out / MANIFEST).read_text()),
    }


def test_normalization() -> None:
    assert normalize_words("Hello,   WORLD!\nIt's") == ["hello", "world", "it", "s"]
    assert shingles("a b c d", 5) == ["a b c d"]
    assert shingles("a b c d e f", 5) == ["a b c d e", "b c d e f"]


def test_exact_and_near_duplicates(
    tmp_path: Path, make_records: Callable[..., Path], corpus: dict[str, str]
) -> None:
    result = run(tmp_path, make_records, corpus)
    assert result["rejects"] == {
        "doc-1-upper": "exact_duplicate",
        "doc-1-spaced": "exact_duplicate",
        "doc-2": "near_duplicate",
    }
    assert result["kept"] == ["doc-1", "doc-3", "doc-4", "doc-5", "doc-0-near"]  # input order
    assert result["stats"] == {
        "documents_in": 8,
        "documents_out": 5,
        "dropped": {"exact_duplicate": 2, "near_duplicate": 1},
        "clusters": 1,
        "largest_cluster": 2,
    }
    (cluster,) = result["clusters"]
    assert cluster["survivor"] == "doc-0-near"
    assert cluster["members"] == ["doc-0-near", "doc-2"]
    assert cluster["size"] == 2
    assert corpus["doc-0-near"].startswith(cluster["sample"])
    assert result["manifest"]["documents_out"] == 5
    # rejected rows keep every column, unchanged
    rejected = {r["id"]: r for r in result["reject_table"].to_pylist()}
    assert rejected["doc-2"]["text"] == corpus["doc-2"]
    assert result["reject_table"].schema.names == [*SCHEMA.names, "reason"]


def test_exact_duplicate_survivor_is_smallest_id(
    tmp_path: Path, make_records: Callable[..., Path], make_text: Callable[..., str]
) -> None:
    text = make_text(7, 120)
    result = run(tmp_path, make_records, {"z": text, "m": text.lower(), "b": text + " ..."})
    assert result["kept"] == ["b"]
    assert result["rejects"] == {"z": "exact_duplicate", "m": "exact_duplicate"}


def test_distinct_documents_all_kept(
    tmp_path: Path, make_records: Callable[..., Path], make_text: Callable[..., str]
) -> None:
    docs = {f"d{i:02d}": make_text(100 + i, 300) for i in range(12)}
    result = run(tmp_path, make_records, docs)
    assert result["kept"] == list(docs)
    assert result["rejects"] == {}
    assert result["clusters"] == []


def test_same_input_gives_identical_files(
    tmp_path: Path, make_records: Callable[..., Path], corpus: dict[str, str]
) -> None:
    src = make_records(tmp_path / "in", list(corpus.items()))
    dedup(src, tmp_path / "a", DP)
    dedup(src, tmp_path / "b", DP)
    for name in ("documents.parquet", "rejects.parquet", "clusters.json", MANIFEST):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_empty_input(tmp_path: Path, make_records: Callable[..., Path]) -> None:
    result = run(tmp_path, make_records, {})
    assert result["kept"] == [] and result["rejects"] == {} and result["clusters"] == []
    assert result["stats"]["documents_in"] == result["stats"]["documents_out"] == 0
    assert result["stats"]["largest_cluster"] == 0


def test_duplicated_ids_are_an_error(
    tmp_path: Path, make_records: Callable[..., Path], make_text: Callable[..., str]
) -> None:
    src = make_records(
        tmp_path / "in", [("a", make_text(1, 60)), ("dup", make_text(2, 60)), ("dup", "x")]
    )
    with pytest.raises(InputError, match="duplicated document id 'dup'"):
        dedup(src, tmp_path / "out", DP)
    assert not (tmp_path / "out").exists()


def test_corrupt_input_is_a_record_error(tmp_path: Path) -> None:
    src = tmp_path / "documents.parquet"
    src.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(RecordError, match="not a readable Parquet file"):
        dedup(src, tmp_path / "out", DP)
    with pytest.raises(RecordError):
        dedup(tmp_path / "absent.parquet", tmp_path / "out", DP)
    assert not (tmp_path / "out").exists()


def test_missing_columns_is_a_record_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "documents.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": ["hello"]}), src)
    with pytest.raises(RecordError, match="missing columns"):
        dedup(src, tmp_path / "out", DP)


def test_default_output_is_quiet_and_verbose_shows_the_task_logs(
    tmp_path: Path, make_records: Callable[..., Path], write_spec: Callable[..., Path]
) -> None:
    write_spec()  # tmp_path/specs/small.md, the spec the suite's params list
    src = make_records(tmp_path / "gen", [(f"d{i:02d}", random_text(i, 60)) for i in range(12)])
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text("executor:\n  kind: local\n  tasks: 2\n  workers: 1\n")

    def stage(*flags: str, out: str) -> list[str]:
        proc = msm_in(  # from tmp_path: the work folder goes there
            tmp_path,
            *flags,
            "dedup",
            *("--params", TESTS / "params.yaml", "--run-config", run_yaml),
            *("--input", src.parent, "--out", tmp_path / out, "--stats", tmp_path / f"{out}.json"),
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stderr.splitlines()

    quiet = stage(out="quiet")
    # one line per datatrove step and the stage's summary: no banners, stats tables or timestamps
    assert len(quiet) <= 4, "\n".join(quiet)
    assert any("dedup: 12 -> 12 documents" in line for line in quiet)
    assert not any("PIPELINE" in line or "Stats" in line for line in quiet)
    verbose = stage("-v", out="loud")
    assert any("PIPELINE" in line for line in verbose) and len(verbose) > 20
    assert (tmp_path / "quiet" / "documents.parquet").read_bytes() == (
        tmp_path / "loud" / "documents.parquet"
    ).read_bytes()
