"""Near-duplicate quality on a labelled synthetic set, and the vectorized shingling's fidelity."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from testprofile import section

from fakes.corpus import jaccard, labelled_corpus
from pipeline.arrays import distinct
from pipeline.dedup import minhash as mh
from pipeline.dedup.stage import dedup
from pipeline.record import REJECT_SCHEMA, read_documents
from pipeline.text import _word_table

DP = section("dedup")


def found_pairs(groups: list[list[int]], pairs: list[tuple[int, int]]) -> np.ndarray:
    comp = {m: k for k, g in enumerate(groups) for m in g}
    return np.array([comp.get(a, -1) == comp.get(b, -2) for a, b in pairs])


@pytest.fixture(scope="module")
def labelled():
    return labelled_corpus(5000, seed=0)


def test_labelled_set_spans_the_jaccard_range(labelled) -> None:
    j = labelled.jaccard
    assert len(labelled.texts) == 5000 and len(labelled.pairs) == 500
    assert (j >= 0.8).sum() >= 200 and (j < 0.5).sum() >= 100
    assert ((j >= 0.5) & (j < 0.8)).sum() >= 100
    assert labelled_corpus(300, seed=3).texts == labelled_corpus(300, seed=3).texts


def test_recall_and_false_found_targets(labelled) -> None:
    groups = mh.clusters(labelled.texts, DP.ngram, DP.bands, DP.rows, DP.threshold)
    found = found_pairs(groups, labelled.pairs)
    j = labelled.jaccard
    recall = found[j >= 0.8].mean()
    false_found = found[j < 0.5].mean()
    assert recall >= 0.98, recall
    assert false_found <= 0.01, false_found
    # every member of a cluster is linked to another by exact Jaccard >= threshold
    for g in groups:
        assert g == sorted(g)


def test_stage_finds_the_labelled_pairs(
    tmp_path: Path, make_records: Callable[..., Path], labelled
) -> None:
    n = 1500
    keep = [(a, b) for a, b in labelled.pairs if a < n and b < n]
    ids = [f"d{i:05d}" for i in range(n)]
    src = make_records(tmp_path / "in", list(zip(ids, labelled.texts[:n], strict=True)))
    stats = dedup(src, tmp_path / "out", DP)
    rejects = read_documents(tmp_path / "out" / "rejects.parquet", REJECT_SCHEMA)
    dropped = set(rejects["id"].to_pylist())
    j = {p: jaccard(labelled.texts[p[0]], labelled.texts[p[1]]) for p in keep}
    for (a, b), value in j.items():
        if value >= 0.9:  # one of the pair goes: the larger id
            assert ids[max(a, b)] in dropped
        if value < 0.5:
            assert not ({ids[a], ids[b]} <= dropped)
    assert stats["dropped"]["exact_duplicate"] == 0
    assert stats["dropped"]["near_duplicate"] == len(dropped)


def test_fast_shingles_match_the_reference() -> None:
    texts = [
        "",
        "one",
        "Hello, WORLD! It's",
        "a b c d e",
        "a b c d e f",
        "A  b\tc\nD e F g a b c",
        "Ünïcödé straße — “quoted” ΑΒΓ naïve café x y z",
        "x" * 40 + " " + "y" * 17 + " abcdefghij_klmnopq 12345678 123456789 ab8",
        *labelled_corpus(50, seed=1).texts,
    ]
    words = mh.word_hashes(texts)
    grams, offsets = mh.shingle_hashes(words, 5)
    sets = mh.shingle_sets(texts, 5)
    for i, t in enumerate(texts):
        assert words.offsets[i + 1] - words.offsets[i] == len(mh.normalize_words(t))
        ref = mh.shingles(t, 5)
        assert len(set(grams[offsets[i] : offsets[i + 1]].tolist())) == len(set(ref))
        assert len(sets[i]) == len(set(ref))
    for i in range(len(texts)):
        for k in (i + 1, len(texts) - 1 - i):
            if k < len(texts) and k != i:
                assert mh.set_jaccard(sets[i], sets[k]) == pytest.approx(
                    jaccard(texts[i], texts[k])
                )


def test_word_hashes_depend_on_the_word_only() -> None:
    # ASCII text takes the byte path, non-ASCII the reference splitter: same words, same hashes
    a = mh.word_hashes(["Cafe STRASSE cafe", "x strasse CAFE é", "long_word_over_sixteen_bytes"])
    b = mh.word_hashes(["long_word_over_sixteen_bytesX", "long_word_over_sixteen_bytes"])
    h = a.hashes.tolist()
    assert h[0] == h[2] == h[5] and h[1] == h[4] and len(set(h)) == 5
    assert h[7] == b.hashes[1] != b.hashes[0]


UNICODE = [
    "İstanbul ǅemal ﬁnal STRASSE Straße K Σσς naïve café",
    "“Quoted” — dashes – and ’apostrophes’… ellipses\u00a0nbsp\u2003em-space ½ ² Ⅻ ٣",
    "日本語のテキスト、句読点。 emoji😀x🎉y 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 e\u0301 a\ud800b _under_score_",
    "ascii only, with CAPITALS and long_identifiers_over_sixteen_bytes.",
    "",
]


def test_unicode_words_match_the_reference() -> None:
    # each text's words, hashes and lengths are those of its reference words one by one
    got = mh.word_hashes(UNICODE)
    for i, t in enumerate(UNICODE):
        words = mh.normalize_words(t)
        lo, hi = got.offsets[i], got.offsets[i + 1]
        assert hi - lo == len(words)
        assert got.lengths[lo:hi].tolist() == [len(w) for w in words]
        one_by_one = [mh.word_hashes([w]).hashes.tolist() for w in words]
        assert got.hashes[lo:hi].tolist() == [h[0] for h in one_by_one]
        assert mh.word_hashes([" ".join(words)]).hashes.tolist() == got.hashes[lo:hi].tolist()


def test_the_word_table_is_the_regex() -> None:
    # the non-ASCII splitter's table of `\w` code points, built from runs of `\W`
    want = [re.match(r"\w", chr(c)) is not None for c in range(0x10000)]
    assert _word_table().tolist() == want


def test_exact_keys_see_order_count_and_boundaries() -> None:
    texts = ["a b c", "b a c", "a b c c", "a b", "ab c", "", "A b  c!", "c"]
    keys = mh.text_keys(mh.word_hashes(texts))
    assert (keys[6] == keys[0]).all()
    distinct_keys = {tuple(k) for k in keys[[0, 1, 2, 3, 4, 5, 7]].tolist()}
    assert len(distinct_keys) == 7


def test_distinct_is_numpys_unique() -> None:
    values = np.random.default_rng(0).integers(0, 50, size=(40, 2))
    for v in (values, values[:1], values[:0], values[:, 0]):
        assert distinct(v).tolist() == np.unique(v).tolist()


def test_exact_keys_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = labelled_corpus(40, seed=2).texts
    texts = [*texts, texts[3].upper(), " " + texts[5].replace(" ", "  ") + " !", "", ""]
    first = mh.exact_groups(mh.text_keys(mh.word_hashes(texts)))
    assert first[40] == 3 and first[41] == 5 and first[43] == 42
    assert (first[:40] == np.arange(40)).all()
    whole = mh.sketch(texts, 5, 14, 8)
    monkeypatch.setattr(mh, "CHUNK", 7)
    chunked = mh.sketch(texts, 5, 14, 8)
    assert (whole.band_keys == chunked.band_keys).all()
    assert (whole.text_keys == chunked.text_keys).all()
    assert whole.band_keys.shape == (len(texts), 27)
    assert mh.sketch(texts, 5, 14, 8, shifted=False).band_keys.shape == (len(texts), 14)
    assert (mh.signatures(texts, 5, 112)[40] == mh.signatures(texts, 5, 112)[3]).all()
