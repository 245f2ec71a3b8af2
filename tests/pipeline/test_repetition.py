"""The vectorized Gopher repetition measures agree with a plain Python reference."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pipeline.quality.repetition import duplicate_ngram_fraction, top_ngram_fraction, word_arrays


def ref_top(words: list[str], n: int) -> set[float]:
    """Every value a most frequent n-gram can give (ties may differ in characters)."""
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    best = max(grams.values(), default=0)
    if best < 2:
        return {0.0}
    total = sum(map(len, words))
    return {round(c * sum(map(len, g)) / total, 12) for g, c in grams.items() if c == best}


def ref_dup(words: list[str], n: int) -> float:
    seen, covered = set(), [False] * len(words)
    for i in range(len(words) - n + 1):
        g = tuple(words[i : i + n])
        if g in seen:
            covered[i : i + n] = [True] * n
        seen.add(g)
    return sum(len(w) for w, c in zip(words, covered, strict=True) if c) / sum(map(len, words))


@pytest.mark.parametrize("seed", range(20))
def test_matches_reference(seed: int) -> None:
    rng = random.Random(seed)
    vocab = [f"w{i}" * rng.randint(1, 3) for i in range(rng.randint(3, 40))]
    words = [rng.choice(vocab) for _ in range(rng.randint(1, 300))]
    if seed % 4 == 0:  # a pasted-twice passage
        words = words + words[: len(words) // 2]
    h, lengths = word_arrays(words)
    for n in (2, 3, 4):
        assert round(top_ngram_fraction(h, lengths, n), 12) in ref_top(words, n)
    for n in range(5, 11):
        assert duplicate_ngram_fraction(h, lengths, n) == pytest.approx(ref_dup(words, n))


def test_no_repeats_is_zero() -> None:
    words = [f"w{i}" for i in range(50)]
    h, lengths = word_arrays(words)
    assert top_ngram_fraction(h, lengths, 2) == 0.0
    assert duplicate_ngram_fraction(h, lengths, 5) == 0.0
