"""pipeline.pack: the packing policy, the shard format round trip, and shard verification."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from testprofile import section
from tokenizers import Tokenizer

from pipeline.errors import InputError
from pipeline.io import MANIFEST, file_checksums, write_json
from pipeline.pack.packing import (
    MAX_PADDING,
    MIN_PIECE,
    best_fit,
    dense,
    layout,
    pack_pieces,
    sequence_budget,
    split_long,
)
from pipeline.pack.stage import SPLITS, pack, packing_policy
from pipeline.pack.verify import verify
from pipeline.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
PP = section("pack", seq_len=32, val_fraction=0.25)
MODEL = "tiny/test-model"

# ------------------------------------------------------------------------ packing


def test_split_long() -> None:
    assert split_long([10, 3, 4], 4) == [(0, 0, 4), (0, 4, 4), (0, 8, 2), (1, 0, 3), (2, 0, 4)]
    assert split_long([], 4) == []
    # a remainder under min_piece takes tokens from the piece before it
    assert split_long([25, 30], 12, min_piece=3) == [
        (0, 0, 12),
        (0, 12, 10),
        (0, 22, 3),
        (1, 0, 12),
        (1, 12, 12),
        (1, 24, 6),
    ]
    # min_piece is capped at seq_len // 4
    assert split_long([9], 8, min_piece=100) == [(0, 0, 7), (0, 7, 2)]


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
    data, seg = layout(tokens, seq_len=8, pad_id=0, seed=0, min_piece=3)
    assert data.dtype == np.uint16
    assert data.shape == (3, 8)  # 19 tokens: ceil(19 / 8) = 3 sequences
    # the 11-token document: 8 + 3 tokens; the others whole
    assert sorted(map(tuple, seg[:, 2:].tolist())) == [(3, 1, 0), (3, 2, 8), (5, 0, 0), (8, 2, 0)]
    for s, start, n, doc, off in seg.tolist():
        assert data[s, start : start + n].tolist() == tokens[doc][off : off + n].tolist()
    covered = np.zeros(data.shape, bool)
    for s, start, n, *_ in seg.tolist():
        covered[s, start : start + n] = True
    assert covered.sum() == 19
    assert (data[~covered] == 0).all()
    other = layout(tokens, seq_len=8, pad_id=0, seed=0, min_piece=3)
    assert np.array_equal(other[0], data) and np.array_equal(other[1], seg)


def test_layout_wide_vocab_and_empty() -> None:
    data, _ = layout([np.array([70000, 1])], seq_len=4, pad_id=0, seed=0)
    assert data.dtype == np.uint32 and data[0, :2].tolist() == [70000, 1]
    data, seg = layout([], seq_len=4, pad_id=0, seed=0)
    assert data.shape == (0, 4) and seg.shape == (0, 5)


def test_sequence_budget() -> None:
    assert sequence_budget(0, 512, 0.01) == 0
    assert sequence_budget(39404, 512, 0.01) == 77  # the floor, 20 tokens of padding
    assert sequence_budget(12356, 512, 0.01) == 25  # the floor is 3.5% padding: still the floor
    assert sequence_budget(100 * 512, 512, 0.01) == 101  # 101 x 512 - 51200 = 512 <= 517
    assert sequence_budget(1000, 10, 0.0) == 100
    assert sequence_budget(1000, 10, 1.0) == 1000  # no budget: one token per sequence at most


def test_dense_rules() -> None:
    # 1 and 2: an exact fit first, then whole pieces; continued pieces keep their offsets
    assert dense([(0, 3, 5), (1, 0, 3), (2, 0, 16)], 16, 4) == [
        [(2, 0, 16)],
        [(0, 3, 5), (1, 0, 3)],
    ]
    # 3: the head of doc 1 fills the room left by doc 0; its rest then fills the next sequence
    assert dense([(0, 0, 12), (1, 0, 10), (2, 0, 10)], 16, 4) == [
        [(0, 0, 12), (1, 0, 4)],
        [(2, 0, 10), (1, 4, 6)],
    ]
    # 4: nothing fits whole in a useful way; a head of doc 0 leaves a room doc 1 can fill
    assert dense([(0, 0, 15), (1, 0, 15)], 16, 4) == [
        [(0, 0, 11), (1, 0, 5)],
        [(1, 5, 10), (0, 11, 4)],
    ]
    # 5: nothing to fill the room with, so no split
    assert dense([(0, 0, 15)], 16, 4) == [[(0, 0, 15)]]
    assert dense([], 16, 4) == []


def test_dense_min_piece() -> None:
    """A room under min_piece stays padding; a smaller min_piece lets a piece fill it."""
    pieces = [(0, 0, 7), (1, 0, 7), (2, 0, 7)]
    assert dense(pieces, 16, 4) == [[(0, 0, 7), (1, 0, 7)], [(2, 0, 7)]]
    assert dense(pieces, 16, 2) == [[(0, 0, 7), (1, 0, 7), (2, 0, 2)], [(2, 2, 5)]]


def tiling_faults(lengths: list[int], seqs: list[list[tuple]], seq_len: int, m: int) -> list:
    """What is wrong with a packing: lost, repeated or moved tokens, short pieces, overflow."""
    faults = [("overflow", i) for i, s in enumerate(seqs) if sum(p[2] for p in s) > seq_len]
    faults += [("empty", i) for i, s in enumerate(seqs) if not s]
    per_doc: dict[int, list] = defaultdict(list)
    for seq in seqs:
        for doc, off, n in seq:
            per_doc[doc].append((off, n))
    for doc, n_doc in enumerate(lengths):
        pieces = sorted(per_doc.pop(doc, []))
        ends = [off + n for off, n in pieces]
        if [off for off, _ in pieces] != [0, *ends[:-1]] or ends[-1:] != [n_doc]:
            faults.append(("tiling", doc, pieces))
        if len(pieces) > 1 and min(n for _, n in pieces) < m:
            faults.append(("short piece", doc, pieces))
    return faults + [("unknown doc", d) for d in per_doc]


@pytest.mark.parametrize("seed", range(8))
def test_pack_pieces_invariants(seed: int) -> None:
    rng = np.random.default_rng(seed)
    seq_len, m = 64, 6
    lengths = [int(x) for x in rng.integers(1, 3 * seq_len, size=int(rng.integers(1, 120)))]
    for max_padding in (0.0, 0.01, 1.0):
        seqs = pack_pieces(lengths, seq_len, m, max_padding)
        assert tiling_faults(lengths, seqs, seq_len, m) == []
        assert seqs == pack_pieces(lengths, seq_len, m, max_padding)  # deterministic
        if max_padding < 1:
            assert len(seqs) == sequence_budget(sum(lengths), seq_len, max_padding)
    bfd_only = pack_pieces(lengths, seq_len, m, 1.0)  # no budget: only long documents split
    assert all(off == 0 or lengths[doc] > seq_len for s in bfd_only for doc, off, _ in s)


def padding(lengths: list[int], seqs: list, seq_len: int) -> float:
    return 1 - sum(lengths) / (len(seqs) * seq_len)


@pytest.mark.parametrize("seed", range(4))
def test_padding_within_budget(seed: int) -> None:
    """A corpus like the default one, but big enough that 1% is reachable: the policy reaches it."""
    rng = np.random.default_rng(seed)
    lengths = [int(x) for x in rng.integers(160, 340, size=400)]  # ~100k tokens, ~200 sequences
    bfd = pack_pieces(lengths, 512, MIN_PIECE, 1.0)
    assert padding(lengths, bfd, 512) > MAX_PADDING  # best-fit decreasing alone misses it
    seqs = pack_pieces(lengths, 512, MIN_PIECE, MAX_PADDING)
    assert padding(lengths, seqs, 512) <= MAX_PADDING
    assert tiling_faults(lengths, seqs, 512, MIN_PIECE) == []
    split = {doc for s in seqs for doc, off, _ in s if off > 0}
    assert 0 < len(split) < len(lengths) // 4  # whole documents stay the rule


def test_padding_floor_when_budget_is_impossible() -> None:
    """Too few tokens for 1%: the floor, ceil(tokens / seq_len) sequences, is still reached."""
    lengths = [300, 310, 290, 305, 295, 300, 300]  # 2100 tokens: 5 sequences, 18% padding
    assert len(pack_pieces(lengths, 512, MIN_PIECE, 1.0)) == 7  # BFD: no two fit together
    seqs = pack_pieces(lengths, 512, MIN_PIECE, MAX_PADDING)
    assert len(seqs) == 5
    assert tiling_faults(lengths, seqs, 512, MIN_PIECE) == []


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


@pytest.fixture
def dense_shards(tmp_path: Path, make_records, tokenizer_dir, make_text) -> dict:
    """A corpus shaped like the default one (documents of about half a sequence), 400 of them."""
    rng = np.random.default_rng(0)
    docs = [
        (f"dense/doc-{i:03d}", make_text(1000 + i, int(n)))
        for i, n in enumerate(rng.integers(140, 300, size=400))
    ]
    src = make_records(tmp_path / "dense-in", docs)
    tok_dir = tokenizer_dir([t for _, t in docs])
    out = tmp_path / "dense-shards"
    pp = section("pack", seq_len=512, val_fraction=0.05)
    manifest = pack(src, tok_dir, out, pp, 0, MODEL)
    return {"src": src, "tok_dir": tok_dir, "out": out, "manifest": manifest, "docs": dict(docs)}


def assert_round_trip(shards: dict, seq_len: int) -> dict[str, dict]:
    """Every document's tokens and EOS come back from its segments in offset order, once."""
    tok = Tokenizer.from_file(str(shards["tok_dir"] / "tokenizer.json"))
    eos = load_tokenizer(shards["tok_dir"]).eos_id
    split_docs = reassemble(shards["out"])
    train, val = split_docs["train"], split_docs["val"]
    assert train and val
    assert not set(train) & set(val)  # split by document
    assert set(train) | set(val) == set(shards["docs"])
    for pieces in (*train.values(), *val.values()):
        offsets = [off for off, _ in pieces]
        sizes = [len(t) for _, t in pieces]
        assert offsets == [sum(sizes[:k]) for k in range(len(sizes))]  # contiguous, no gap
        assert all(size <= seq_len for size in sizes)
    for doc_id, text in shards["docs"].items():
        pieces = train.get(doc_id) or val[doc_id]
        tokens = [t for _, piece in pieces for t in piece]
        expected = tok.encode(text, add_special_tokens=False).ids
        assert tokens == [*expected, eos]
        assert tokens.count(eos) == 1
    return split_docs


def assert_continuations(shards: dict, split_docs: dict[str, dict], seq_len: int) -> None:
    """Split documents: pieces of at least min_piece, counted in the manifest; long ones split."""
    manifest = shards["manifest"]
    min_piece = manifest["packing"]["min_piece"]
    for split in SPLITS:
        info = manifest["splits"][split]
        continued = {d: p for d, p in split_docs[split].items() if len(p) > 1}
        for doc_id, pieces in split_docs[split].items():
            n = sum(len(t) for _, t in pieces)
            assert len(pieces) >= -(-n // seq_len)  # a document longer than seq_len is split
            if doc_id in continued:
                assert min(len(t) for _, t in pieces) >= min_piece
        assert info["continued_documents"] == len(continued)
        assert info["continuation_pieces"] == sum(len(p) - 1 for p in continued.values())
        assert info["documents"] == len(split_docs[split])
        assert info["tokens"] == sum(len(t) for p in split_docs[split].values() for _, t in p)


def test_round_trip(shards: dict) -> None:
    split_docs = assert_round_trip(shards, PP.seq_len)
    assert_continuations(shards, split_docs, PP.seq_len)
    assert any(len(p) > 1 for p in split_docs["train"].values())


def test_dense_corpus_round_trip_and_padding(dense_shards: dict) -> None:
    """At the default seq_len and min_piece: within 1% padding, by splitting few documents."""
    split_docs = assert_round_trip(dense_shards, 512)
    assert_continuations(dense_shards, split_docs, 512)
    manifest = dense_shards["manifest"]
    assert manifest["packing"] == {"min_piece": MIN_PIECE, "max_padding": MAX_PADDING}
    train = manifest["splits"]["train"]
    assert train["padding_fraction"] <= MAX_PADDING
    assert train["sequences"] == sequence_budget(train["tokens"], 512, MAX_PADDING)
    assert 0 < train["continued_documents"] <= train["documents"] // 4
    # the validation split is too small for 1%: it gets the floor, all sequences full but one
    val = manifest["splits"]["val"]
    assert val["sequences"] == -(-val["tokens"] // 512)
    assert verify(dense_shards["out"]) == []


def test_packing_settings_from_params() -> None:
    """`pack.min_piece` and `pack.max_padding` are read where params has them."""
    assert packing_policy(section("pack", seq_len=512)) == {
        "min_piece": MIN_PIECE,
        "max_padding": MAX_PADDING,
    }
    assert packing_policy(PP) == {"min_piece": 8, "max_padding": MAX_PADDING}  # seq_len // 4
    custom = SimpleNamespace(seq_len=512, min_piece=8, max_padding=0.05)
    assert packing_policy(custom) == {"min_piece": 8, "max_padding": 0.05}


def test_manifest_and_padding(shards: dict) -> None:
    out, manifest = shards["out"], shards["manifest"]
    assert json.loads((out / MANIFEST).read_text()) == manifest
    assert manifest["files"] == file_checksums(out)
    assert manifest["tokenizer"]["name"] == MODEL
    loaded = load_tokenizer(shards["tok_dir"])
    eos, digest = loaded.eos_id, loaded.sha256
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
    with pytest.raises(InputError, match=r"no tokenizer\.json"):
        pack(src, tmp_path / "nowhere", tmp_path / "out", PP, 0, MODEL)
    folder = tokenizer_dir(["Claude likes cheddar."])
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(InputError, match="is not in the vocabulary"):
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
    (shards["out"] / MANIFEST).unlink()  # no manifest: not a (complete) shard folder at all
    with pytest.raises(InputError, match=r"manifest\.json: missing; .* did not complete"):
        verify(shards["out"])


def resign(out: Path, arrays: dict[str, np.ndarray] | None = None, **splits: dict) -> None:
    """Overwrite shard files and manifest entries, then make the checksums match again."""
    for name, array in (arrays or {}).items():
        np.save(out / name, array)
    manifest = json.loads((out / MANIFEST).read_text())
    for split, changes in splits.items():
        if split == "packing":
            manifest["packing"].update(changes)
        else:
            manifest["splits"][split].update(changes)
    manifest["files"] = file_checksums(out)
    write_json(out / MANIFEST, manifest)


def test_verify_structure_with_matching_checksums(shards: dict) -> None:
    """A consistent manifest over broken contents: the structural checks still catch it."""
    out = shards["out"]
    seg = np.load(out / "train_segments.npy")
    seg[0, 1] = PP.seq_len - 1  # move the first segment so it runs past the end
    resign(out, {"train_segments.npy": seg})
    faults = verify(out)
    assert "train_segments.npy: a segment runs past seq_len" in faults


def segments_by_doc(seg: np.ndarray) -> dict[int, list[int]]:
    rows: dict[int, list[int]] = defaultdict(list)
    for r in np.lexsort((seg[:, 4], seg[:, 3])).tolist():
        rows[int(seg[r, 3])].append(r)
    return rows


def test_verify_continuation_pieces(shards: dict) -> None:
    """A document's pieces must tile it from offset 0 and end in EOS; pieces keep min_piece."""
    out = shards["out"]
    seg = np.load(out / "train_segments.npy")
    split_rows = [r for r in segments_by_doc(seg).values() if len(r) > 1]
    rows = split_rows[0]
    shortest = min(int(seg[r, 2].min()) for r in split_rows)
    resign(out, packing={"min_piece": shortest + 1})
    fault = f"train_segments.npy: a piece of a split document is under {shortest + 1} tokens"
    assert fault in verify(out)
    resign(out, packing={"min_piece": 1})
    assert verify(out) == []

    gap = seg.copy()
    gap[rows[1], 4] += 1  # the continuation claims to start one token later
    resign(out, {"train_segments.npy": gap})
    assert verify(out) == ["train_segments.npy: a document's pieces leave a gap or overlap"]

    resign(out, {"train_segments.npy": seg}, train={"continued_documents": 0})
    assert verify(out) == ["train: continued_documents differs from the segments"]


def test_verify_document_end_and_sequence_layout(shards: dict) -> None:
    out = shards["out"]
    data = np.load(out / "val_tokens.npy")
    seg = np.load(out / "val_segments.npy")
    s, start, n, *_ = seg[segments_by_doc(seg)[0][-1]].tolist()
    broken = data.copy()
    broken[s, start + n - 1] += 1  # the document's last token is no longer EOS
    resign(out, {"val_tokens.npy": broken})
    assert verify(out) == ["val: a document does not end in EOS"]

    used = np.zeros(len(data), int)
    for s, start, n, *_ in seg.tolist():
        used[s] = max(used[s], start + n)
    row = int(np.argmax(used < PP.seq_len))  # a sequence with padding at its end
    last = max((r for r in range(len(seg)) if seg[r, 0] == row), key=lambda r: seg[r, 1])
    moved = seg.copy()
    moved[last, 1] += 1
    resign(out, {"val_tokens.npy": data, "val_segments.npy": moved})
    assert verify(out) == [f"val_segments.npy: a gap before a segment in sequence {row}"]
    train = np.load(out / "train_segments.npy")
    row = int(np.argmax(np.bincount(train[:, 0]) > 1))  # a sequence of several segments
    second = max((r for r in range(len(train)) if train[r, 0] == row), key=lambda r: train[r, 1])
    assert train[second, 1] > 0
    overlap = train.copy()
    overlap[second, 1] -= 1
    resign(out, {"val_segments.npy": seg, "train_segments.npy": overlap})
    assert f"train_segments.npy: overlapping segments in sequence {row}" in verify(out)
    kept = seg[seg[:, 0] != 0]  # the first validation sequence loses its segments
    resign(
        out,
        {"train_segments.npy": train, "val_segments.npy": kept},
        val={"tokens": int(kept[:, 2].sum())},
    )
    assert "val_segments.npy: a sequence holds no segment" in verify(out)
    resign(out, {"val_segments.npy": seg}, val={"tokens": int(seg[:, 2].sum())})
    assert verify(out) == []
    docs = json.loads((out / "val_docs.json").read_text())
    (out / "val_docs.json").write_text(json.dumps([*docs, "small/lost"]) + "\n")
    resign(out)
    assert verify(out) == ["val_segments.npy: a document has no segment"]


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
