"""pipeline.pack: best-fit packing, the shard format round trip, and shard verification."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from pipeline.config import PackParams
from pipeline.io import MANIFEST, file_checksums, write_json
from pipeline.pack.packing import best_fit, layout, split_long
from pipeline.pack.stage import SPLITS, load_tokenizer, pack
from pipeline.pack.verify import verify

ROOT = Path(__file__).resolve().parents[2]
PP = PackParams(seq_len=32, val_fraction=0.25)
MODEL = "tiny/test-model"

# ------------------------------------------------------------------------ packing


def test_split_long() -> None:
    assert split_long([10, 3, 4], 4) == [(0, 0, 4), (0, 4, 4), (0, 8, 2), (1, 0, 3), (2, 0, 4)]
    assert split_long([], 4) == []


def test_best_fit_packs_tightly() -> None:
    assert best_fit([6, 4, 3, 7], 10) == [[3, 2], [0, 1]]
    assert best_fit([5, 5, 5, 5], 10) == [[0, 1], [2, 3]]
    assert best_fit([], 10) == []


@pytest.mark.parametrize("seed", range(5))
def test_best_fit_invariants(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = [int(x) for x in rng.integers(1, 33, size=60)]
    bins = best_fit(lengths, 32)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 32 for b in bins)
    # no two bins could be merged: best fit leaves at most one bin at most half full
    assert sum(1 for b in bins if sum(lengths[i] for i in b) <= 16) <= 1
    assert bins == best_fit(lengths, 32)


def test_layout() -> None:
    tokens = [np.arange(1, 6), np.arange(10, 13), np.arange(20, 31)]  # 5, 3 and 11 tokens
    data, seg = layout(tokens, seq_len=8, pad_id=0, seed=0)
    assert data.dtype == np.uint16
    assert data.shape == (3, 8)  # 19 tokens in 4 pieces (5, 3, 8, 3) -> 3 sequences
    assert sorted(map(tuple, seg[:, 2:].tolist())) == [(3, 1, 0), (3, 2, 8), (5, 0, 0), (8, 2, 0)]
    for s, start, n, doc, off in seg.tolist():
        assert data[s, start : start + n].tolist() == tokens[doc][off : off + n].tolist()
    covered = np.zeros(data.shape, bool)
    for s, start, n, *_ in seg.tolist():
        covered[s, start : start + n] = True
    assert covered.sum() == 19
    assert (data[~covered] == 0).all()
    other = layout(tokens, seq_len=8, pad_id=0, seed=0)
    assert np.array_equal(other[0], data) and np.array_equal(other[1], seg)


def test_layout_wide_vocab_and_empty() -> None:
    data, _ = layout([np.array([70000, 1])], seq_len=4, pad_id=0, seed=0)
    assert data.dtype == np.uint32 and data[0, :2].tolist() == [70000, 1]
    data, seg = layout([], seq_len=4, pad_id=0, seed=0)
    assert data.shape == (0, 4) and seg.shape == (0, 5)


# ------------------------------------------------------------------------ the stage


@pytest.fixture
def docs(make_text: Callable[..., str]) -> list[tuple[str, str]]:
    lengths = [3, 8, 12, 20, 25, 40, 60, 90, 5, 15, 30, 70, 10, 18, 22, 50, 7, 35, 45, 28]
    return [(f"small/doc-{i:02d}", make_text(i, n)) for i, n in enumerate(lengths)]


@pytest.fixture
def shards(tmp_path: Path, make_records, tokenizer_dir, docs) -> dict:
    src = make_records(tmp_path / "in", docs)
    tok_dir = tokenizer_dir([t for _, t in docs])
    out = tmp_path / "shards"
    manifest = pack(src, tok_dir, out, PP, 0, MODEL)
    return {"src": src, "tok_dir": tok_dir, "out": out, "manifest": manifest, "docs": dict(docs)}


def reassemble(out: Path) -> dict[str, dict]:
    """Per split, document id -> list of (offset, token list) from the shard files."""
    result: dict[str, dict] = {}
    for split in SPLITS:
        data = np.load(out / f"{split}_tokens.npy")
        seg = np.load(out / f"{split}_segments.npy")
        ids = json.loads((out / f"{split}_docs.json").read_text())
        pieces: dict[str, list] = defaultdict(list)
        for s, start, n, doc, off in seg.tolist():
            pieces[ids[doc]].append((off, data[s, start : start + n].tolist()))
        assert set(pieces) == set(ids)
        result[split] = {k: sorted(v) for k, v in pieces.items()}
    return result


def test_round_trip(shards: dict) -> None:
    tok = Tokenizer.from_file(str(shards["tok_dir"] / "tokenizer.json"))
    _, eos, _ = load_tokenizer(shards["tok_dir"])
    split_docs = reassemble(shards["out"])
    train, val = split_docs["train"], split_docs["val"]
    assert train and val
    assert not set(train) & set(val)  # split by document
    assert set(train) | set(val) == set(shards["docs"])
    for pieces in (*train.values(), *val.values()):
        offsets = [off for off, _ in pieces]
        sizes = [len(t) for _, t in pieces]
        assert offsets == [sum(sizes[:k]) for k in range(len(sizes))]  # contiguous, no gap
        assert all(size <= PP.seq_len for size in sizes)
    for doc_id, text in shards["docs"].items():
        pieces = train.get(doc_id) or val[doc_id]
        tokens = [t for _, piece in pieces for t in piece]
        expected = tok.encode(text, add_special_tokens=False).ids
        assert tokens == [*expected, eos]
        assert tokens.count(eos) == 1


def test_long_documents_are_continued(shards: dict) -> None:
    tok = Tokenizer.from_file(str(shards["tok_dir"] / "tokenizer.json"))
    lengths = {i: len(tok.encode(t).ids) + 1 for i, t in shards["docs"].items()}
    long_docs = {i for i, n in lengths.items() if n > PP.seq_len}
    assert long_docs
    split_docs = reassemble(shards["out"])
    for split in SPLITS:
        for doc_id, pieces in split_docs[split].items():
            assert len(pieces) == -(-lengths[doc_id] // PP.seq_len)
        info = shards["manifest"]["splits"][split]
        assert info["continued_documents"] == len(long_docs & set(split_docs[split]))
        assert info["tokens"] == sum(lengths[i] for i in split_docs[split])
        assert info["documents"] == len(split_docs[split])


def test_manifest_and_padding(shards: dict) -> None:
    out, manifest = shards["out"], shards["manifest"]
    assert json.loads((out / MANIFEST).read_text()) == manifest
    assert manifest["files"] == file_checksums(out)
    assert manifest["tokenizer"]["name"] == MODEL
    _, eos, digest = load_tokenizer(shards["tok_dir"])
    assert manifest["tokenizer"]["eos_id"] == eos and manifest["tokenizer"]["sha256"] == digest
    for split in SPLITS:
        data = np.load(out / f"{split}_tokens.npy")
        seg = np.load(out / f"{split}_segments.npy")
        info = manifest["splits"][split]
        assert data.shape == (info["sequences"], PP.seq_len)
        assert info["dtype"] == "uint16" == str(data.dtype)
        covered = np.zeros(data.shape, bool)
        for s, start, n, *_ in seg.tolist():
            assert not covered[s, start : start + n].any()
            covered[s, start : start + n] = True
        assert (data[~covered] == eos).all()  # padding is the EOS id
        assert info["padding_fraction"] == round(1 - covered.sum() / data.size, 6)


def test_same_seed_identical_files(shards: dict, tmp_path: Path) -> None:
    again = tmp_path / "again"
    pack(shards["src"], shards["tok_dir"], again, PP, 0, MODEL)
    names = sorted(p.name for p in shards["out"].iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (again / name).read_bytes() == (shards["out"] / name).read_bytes(), name
    other = tmp_path / "seed1"
    pack(shards["src"], shards["tok_dir"], other, PP, 1, MODEL)
    assert (other / "train_tokens.npy").read_bytes() != (again / "train_tokens.npy").read_bytes()


def test_empty_input(tmp_path: Path, make_records, tokenizer_dir) -> None:
    src = make_records(tmp_path / "in", [])
    out = tmp_path / "shards"
    manifest = pack(src, tokenizer_dir(["a b c"]), out, PP, 0, MODEL)
    assert manifest["splits"]["train"]["sequences"] == 0
    assert verify(out) == []


def test_tokenizer_problems(tmp_path: Path, make_records, tokenizer_dir) -> None:
    src = make_records(tmp_path / "in", [("a", "Claude likes cheddar.")])
    with pytest.raises(SystemExit, match=r"no tokenizer\.json"):
        pack(src, tmp_path / "nowhere", tmp_path / "out", PP, 0, MODEL)
    folder = tokenizer_dir(["Claude likes cheddar."])
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(SystemExit, match="no usable eos_token"):
        pack(src, folder, tmp_path / "out", PP, 0, MODEL)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ verify


def test_verify_good_shards(shards: dict) -> None:
    assert verify(shards["out"]) == []


def test_verify_flipped_byte(shards: dict) -> None:
    path = shards["out"] / "train_tokens.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    assert verify(shards["out"]) == [f"{path}: sha256 mismatch"]


def test_verify_truncated_file(shards: dict) -> None:
    path = shards["out"] / "val_segments.npy"
    path.write_bytes(path.read_bytes()[:-8])
    assert verify(shards["out"]) == [f"{path}: sha256 mismatch"]


def test_verify_missing_file(shards: dict) -> None:
    (shards["out"] / "train_docs.json").unlink()
    assert verify(shards["out"]) == [f"{shards['out'] / 'train_docs.json'}: missing"]
    (shards["out"] / MANIFEST).unlink()
    (fault,) = verify(shards["out"])
    assert "manifest.json: missing" in fault


def test_verify_structure_with_matching_checksums(shards: dict) -> None:
    """A consistent manifest over broken contents: the structural checks still catch it."""
    out = shards["out"]
    seg = np.load(out / "train_segments.npy")
    seg[0, 1] = PP.seq_len - 1  # move the first segment so it runs past the end
    np.save(out / "train_segments.npy", seg)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] = file_checksums(out)
    write_json(out / MANIFEST, manifest)
    faults = verify(out)
    assert "train_segments.npy: a segment runs past seq_len" in faults


def test_verify_cli(shards: dict, msm: Callable[..., subprocess.CompletedProcess]) -> None:
    ok = msm("verify", shards["out"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{shards['out']}: OK"
    path = shards["out"] / "val_tokens.npy"
    path.write_bytes(path.read_bytes() + b"\0")
    bad = msm("verify", shards["out"])
    assert bad.returncode != 0
    assert f"FAULT {path}: sha256 mismatch" in bad.stdout
    assert "1 fault(s)" in bad.stderr
