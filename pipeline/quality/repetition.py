"""Gopher-style repetition measures for a whole batch of documents at once.

Input: every document's words as 64-bit hashes (flat, with per-document offsets) and their
lengths in characters. Output, per document:

- top n-gram fraction (n = 2, 3, 4): characters covered by the most frequent n-gram's occurrences,
  over the document's characters (0 when no n-gram occurs twice; among equally frequent n-grams,
  the one that occurs first);
- duplicate n-gram fraction (n = 5 .. 10): characters of the words covered by repeated occurrences
  of any n-gram (first occurrences do not count), over the document's characters.

The document's characters (spaces and punctuation included) are the denominator of Gopher's
fractions, as datatrove's `GopherRepetitionFilter` divides by `len(text)`: over word characters
only, every fraction is ~1.2-1.3x higher on technical prose and Gopher's thresholds drop more than
they were tuned to.

No n-gram is ever materialized. Level 1 groups equal words of a document (one argsort of the
batch). An n-gram at position p is the pair of the (n-1)-grams at p and p + 1, so level n only
looks at positions where both of those repeat, and names each n-gram by the pair of their group
ids: exact, and the candidate sets shrink fast (a clean 400-word document has a handful of
positions left by level 5). Each level is one sort of packed (pair id, position) integers, so the
first member of a group is its first occurrence. A batch costs a few array passes per level
instead of a Python object per n-gram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)


@dataclass(frozen=True)
class Repetition:
    top: np.ndarray  # (docs, len(top_ns)) float64
    dup: np.ndarray  # (docs, len(dup_ns)) float64


def measure(
    hashes: np.ndarray,
    offsets: np.ndarray,
    lengths: np.ndarray,
    top_ns: Sequence[int] = TOP_NS,
    dup_ns: Sequence[int] = DUP_NS,
    totals: np.ndarray | None = None,
) -> Repetition:
    """Top and duplicate n-gram fractions of each document (rows of `offsets`), over `totals`
    (each document's characters, as Gopher and datatrove divide) or, when None, over its word
    characters."""
    docs = len(offsets) - 1
    top = np.zeros((docs, len(top_ns)), dtype=np.float64)
    dup = np.zeros((docs, len(dup_ns)), dtype=np.float64)
    words = len(hashes)
    if not docs or not words:
        return Repetition(top, dup)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    doc_of = np.repeat(np.arange(docs), counts)
    cum = np.zeros(words + 1, dtype=np.int64)
    np.cumsum(lengths, out=cum[1:])
    total = cum[offsets[1:]] - cum[offsets[:-1]] if totals is None else np.asarray(totals)
    total = np.maximum(1, total)

    # level 1: equal words of one document (the document index is mixed into the key)
    key = hashes.astype(np.uint64) ^ _mix(doc_of.astype(np.uint64) * _GOLDEN + _M1)
    order = np.argsort(key)
    sorted_key = key[order]
    new = np.ones(words, dtype=bool)
    new[1:] = sorted_key[1:] != sorted_key[:-1]
    group, repeated = _dense(order, new, words)
    top_at = {n: k for k, n in enumerate(top_ns)}
    dup_at = {n: k for k, n in enumerate(dup_ns)}
    same_doc = np.ones(words - 1, dtype=bool)
    same_doc[offsets[1:-1] - 1] = False  # position p and p + 1 lie in different documents
    for n in range(2, max((*top_ns, *dup_ns), default=1) + 1):
        cand = repeated[:-1] & repeated[1:]
        if n == 2:
            cand &= same_doc
        pos = np.flatnonzero(cand)
        if not len(pos):
            break
        code = group[pos] * np.int64(group.max() + 1) + group[pos + 1]
        pos, new = _sort_pairs(code, pos, words)
        starts = np.flatnonzero(new)
        size = np.diff(np.append(starts, len(pos)))
        big = size >= 2
        if not big.any():
            break
        group = np.full(words, -1, dtype=np.int64)
        group[pos] = np.cumsum(new) - 1
        first = pos[starts]
        repeated = np.zeros(words, dtype=bool)
        repeated[pos[np.repeat(big, size)]] = True
        if n in top_at:
            _top(top[:, top_at[n]], first[big], size[big], n, doc_of, cum, total)
        if n in dup_at:
            rep = np.sort(pos[np.repeat(big, size) & ~new])  # repeats, not first occurrences
            # characters of the union of the windows [s, s + n): each adds what the previous
            # window (same length, so the furthest-reaching one) did not already cover
            start = rep.copy()
            start[1:] = np.maximum(rep[1:], rep[:-1] + n)
            chars = np.bincount(doc_of[rep], weights=cum[rep + n] - cum[start], minlength=docs)
            dup[:, dup_at[n]] = chars / total
    return Repetition(top, dup)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _dense(order: np.ndarray, new: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense group id of every position, and which positions are in a group of two or more."""
    rank = np.cumsum(new) - 1
    group = np.empty(words, dtype=np.int64)
    group[order] = rank
    size = np.bincount(rank)
    return group, size[group] >= 2


def _sort_pairs(code: np.ndarray, pos: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorted by (code, position), and where a new code starts."""
    bits = max(1, int(words).bit_length())
    if int(code.max()) < 1 << (63 - bits):  # one sort of packed integers
        packed = np.sort((code << bits) | pos)
        pos = packed & ((1 << bits) - 1)
        code = packed >> bits
    else:
        order = np.lexsort((pos, code))
        pos, code = pos[order], code[order]
    new = np.ones(len(pos), dtype=bool)
    new[1:] = code[1:] != code[:-1]
    return pos, new


def _top(
    out: np.ndarray,
    first: np.ndarray,
    size: np.ndarray,
    n: int,
    doc_of: np.ndarray,
    cum: np.ndarray,
    total: np.ndarray,
) -> None:
    """Per document, the most frequent n-gram (ties: the earliest) times its characters."""
    doc = doc_of[first]
    pick = np.lexsort((first, -size, doc))
    head = np.ones(len(pick), dtype=bool)
    head[1:] = doc[pick][1:] != doc[pick][:-1]
    best = pick[head]
    chars = cum[first[best] + n] - cum[first[best]]
    out[doc[best]] = size[best] * chars / total[doc[best]]


# --- one document at a time (the reference API) -------------------------------------------


def word_arrays(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-word 64-bit hashes and lengths (hash() is only compared within one process)."""
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    return hashes.view(np.uint64), lengths


def top_ngram_fraction(h: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return float(measure(h, np.array([0, len(h)]), lengths, (n,), ()).top[0, 0])


def duplicate_ngram_fraction(h: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return float(measure(h, np.array([0, len(h)]), lengths, (), (n,)).dup[0, 0])
