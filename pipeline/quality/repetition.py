"""Gopher-style repetition measures, vectorized: each word is hashed once and n-grams are rolling
combinations of word hashes in numpy, so a 400-word document costs a handful of array passes
instead of a Python object per n-gram.

- top n-gram fraction: characters covered by the most frequent n-gram's occurrences, over all
  word characters (0 when no n-gram occurs twice);
- duplicate n-gram fraction: characters of the words covered by repeated occurrences of any
  n-gram (first occurrences do not count), over all word characters.
"""

from __future__ import annotations

import numpy as np

_P = np.uint64(1099511628211)  # FNV prime; wrap-around multiplication is intended


def word_arrays(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-word 64-bit hashes and lengths (hash() is only compared within one process)."""
    hashes = np.fromiter((hash(w) for w in words), dtype=np.int64, count=len(words))
    lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
    return hashes.view(np.uint64), lengths


def ngram_hashes(h: np.ndarray, n: int) -> np.ndarray:
    m = len(h) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    acc = h[:m].copy()
    with np.errstate(over="ignore"):
        for k in range(1, n):
            acc = acc * _P + h[k : k + m]
    return acc


def top_ngram_fraction(h: np.ndarray, lengths: np.ndarray, n: int) -> float:
    grams = ngram_hashes(h, n)
    if len(grams) < 2:
        return 0.0
    _, first, counts = np.unique(grams, return_index=True, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] < 2:
        return 0.0
    chars = int(lengths[first[best] : first[best] + n].sum())
    return float(counts[best] * chars / max(1, int(lengths.sum())))


def duplicate_ngram_fraction(h: np.ndarray, lengths: np.ndarray, n: int) -> float:
    grams = ngram_hashes(h, n)
    if len(grams) < 2:
        return 0.0
    _, first, inverse = np.unique(grams, return_index=True, return_inverse=True)
    repeat = np.flatnonzero(np.arange(len(grams)) != first[inverse])
    if not len(repeat):
        return 0.0
    cover = np.zeros(len(h) + 1, dtype=np.int64)
    np.add.at(cover, repeat, 1)
    np.add.at(cover, repeat + n, -1)
    covered = np.cumsum(cover[:-1]) > 0
    return int(lengths[covered].sum()) / max(1, int(lengths.sum()))
