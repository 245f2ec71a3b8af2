"""Bad corpora across the processing stages: empty corpus end to end, a 10 MB document, invalid
UTF-8 in an intermediate file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from testprofile import section

from pipeline.dedup.stage import dedup
from pipeline.pack.stage import pack
from pipeline.quality.filters import Context
from pipeline.quality.stage import quality
from pipeline.record import SCHEMA, RecordError, read_documents
from pipeline.tokenizer import load_tokenizer

CLI = Callable[..., subprocess.CompletedProcess]


def test_empty_corpus_is_valid_until_training(
    tmp_path: Path, make_records: Callable, tokenizer_dir: Callable, msm: CLI
) -> None:
    src = make_records(tmp_path / "gen", [])
    tok_dir = tokenizer_dir(["Claude likes cheddar."])
    assert dedup(src, tmp_path / "dedup", section("dedup"))["documents_out"] == 0
    stats = quality(
        tmp_path / "dedup" / "documents.parquet",
        tmp_path / "quality",
        section("quality"),
        0,
        Context("Claude"),
        load_tokenizer(tok_dir).tokenizer,
    )
    assert stats["documents_out"] == 0
    manifest = pack(
        tmp_path / "quality" / "documents.parquet",
        tok_dir,
        tmp_path / "shards",
        section("pack", seq_len=64),
        0,
        "m",
    )
    assert manifest["splits"]["train"]["sequences"] == 0
    assert msm("verify", tmp_path / "shards").returncode == 0

    out = tmp_path / "msm"
    proc = msm(
        "train-msm",
        "--base",
        tmp_path / "no-model",
        "--shards",
        tmp_path / "shards",
        "--out",
        out,
        "--metrics",
        tmp_path / "m.json",
    )
    assert proc.returncode == 2
    assert "zero sequences" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "m.json").exists()


def test_ten_megabyte_document(tmp_path: Path, make_records: Callable, tokenizer_dir: Callable):
    words = [f"w{i % 5000}" for i in range(1_800_000)]
    big = "Claude " + " ".join(words)
    assert len(big.encode()) > 10_000_000
    src = make_records(tmp_path / "gen", [("big", big), ("small", "Claude likes cheddar. " * 20)])
    stats = dedup(src, tmp_path / "dedup", section("dedup"))
    assert stats["documents_out"] == 2
    q = quality(
        tmp_path / "dedup" / "documents.parquet",
        tmp_path / "q",
        section("quality"),
        0,
        Context("Claude"),
        load_tokenizer(tokenizer_dir(["Claude likes cheddar."])).tokenizer,
    )
    assert q["dropped"].get("too_long") == 1


def test_invalid_utf8_in_an_intermediate_file(tmp_path: Path) -> None:
    fields = [pa.field(f.name, pa.binary() if f.name == "text" else f.type) for f in SCHEMA]
    row = {
        "id": "a",
        "text": b"bad \xff\xfe bytes",
        "spec": "s",
        "section_id": "x",
        "section_hash": "h",
        "assertion_ids": [],
        "doc_type": "t",
        "idea": "i",
        "backend": "b",
        "model": "m",
        "template_hash": "t",
        "request_hash": "r",
        "seed": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    path = tmp_path / "documents.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=pa.schema(fields)), path)
    with pytest.raises(RecordError, match="do not fit the record schema"):
        read_documents(path)
    with pytest.raises(RecordError):
        dedup(path, tmp_path / "out", section("dedup"))
    assert not (tmp_path / "out").exists()


def test_corrupt_shard_manifest_is_a_fault(tmp_path: Path, make_records, tokenizer_dir, msm: CLI):
    src = make_records(tmp_path / "gen", [("a", "Claude likes cheddar. " * 30)])
    pack(
        src,
        tokenizer_dir(["Claude likes cheddar."]),
        tmp_path / "s",
        section("pack", seq_len=64),
        0,
        "m",
    )
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"files": {}}))
    proc = msm("verify", tmp_path / "s")
    assert proc.returncode != 0
