"""Vectorized shingling, MinHash signatures (rensa) and LSH banding with exact verification.

Documents are processed in chunks, with no per-token Python work for ASCII text:

1. Split and hash words (`pipeline.text.word_hashes`, shared with the quality filters):
   vectorized over the chunk's joined bytes; non-ASCII texts take the reference splitter.
2. Combine `ngram` consecutive word hashes into shingle hashes (vectorized over the chunk; a
   document shorter than `ngram` has one shingle, the whole text), and give the flat shingle
   hashes to rensa's `digest_matrix_from_flat_token_hashes` (compiled MinHash).
3. Hash each band of `rows` signature values to one uint64 key, plus `bands - 1` keys of bands
   shifted by `rows // 2` (more recall near the threshold from the same signature; `SHIFTED`);
   keep only those keys ((2 x bands - 1) x 8 bytes a document) and a 128-bit key of the word
   sequence (exact duplicates), never the signatures.

A pair becomes a candidate when one band key matches (found by sorting each band's keys). A
candidate is linked only when its *exact* Jaccard on shingle-hash sets reaches `threshold`
(shingles recomputed for the documents of candidate pairs only), so banding's false positives
never link (a signature estimate lets through pairs well below the threshold). Linked pairs
merge by union-find. Everything is deterministic: word hashes depend on the word only, not on
chunking or corpus order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import rensa

from pipeline.arrays import distinct
from pipeline.text import GOLDEN, M1, Words, mix, normalize_words, word_hashes

SEED = 1234
CHUNK = 256
"""Documents hashed at a time: ~100k words of real prose, so that each pass's arrays (~1 MB)
stay in the CPU's caches and are reused by the allocator. 4096 (arrays of ~14 MB, fresh pages
for each, faulted in by the kernel) took 1.8x the CPU time on the real-prose corpus."""
PAIR_BLOCK = 4096
SHIFTED = True
"""Also band on half-band-shifted windows of the signature (see `band_keys`)."""
_SALT = np.uint64(0x51AF7D3C9E2B4A61)

# distinct odd multipliers for the positions inside a shingle
_POS = np.array(
    [(0x9E3779B97F4A7C15 * (2 * k + 1) + 0x632BE59BD9B4E019 * k) % 2**64 | 1 for k in range(64)],
    dtype=np.uint64,
)


def shingles(text: str, n: int) -> list[str]:
    """Reference word n-grams (as strings); the fast path hashes exactly these."""
    words = normalize_words(text)
    if len(words) <= n:
        return [" ".join(words)]
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def shingle_hashes(words: Words, n: int) -> tuple[np.ndarray, np.ndarray]:
    """uint64 hashes of each document's word n-grams (flat) and row offsets (uint64).

    A document with fewer than `n` words (none included) has one shingle: its whole word list.
    """
    counts = np.diff(words.offsets)
    docs = len(counts)
    # lay the words out with n zero hashes after every document, so no n-gram crosses documents
    padded_start = words.offsets[:-1] + n * np.arange(docs)
    padded = np.zeros(len(words.hashes) + n * docs + n, dtype=np.uint64)
    if len(words.hashes):
        doc_of_word = np.repeat(np.arange(docs), counts)
        padded[np.arange(len(words.hashes)) + n * doc_of_word] = words.hashes
    span = len(padded) - n + 1
    g = padded[:span] * _POS[0]
    for k in range(1, n):
        g = g + padded[k : k + span] * _POS[k % len(_POS)]
    g = mix(g ^ np.uint64(n))
    per_doc = np.maximum(counts - n + 1, 1)
    row_offsets = np.zeros(docs + 1, dtype=np.uint64)
    row_offsets[1:] = np.cumsum(per_doc)
    pos = np.repeat(padded_start - row_offsets[:-1].astype(np.int64), per_doc) + np.arange(
        int(row_offsets[-1])
    )
    return g[pos], row_offsets


def text_keys(words: Words) -> np.ndarray:
    """A 128-bit key of each document's normalized word sequence, as (docs, 2) uint64: two sums
    over its words of a mix of the word's hash and its position, with the word count mixed in.
    The second sum is over a nonlinear function of the first one's terms, so the two are
    independent; one mix a word in all."""
    counts = np.diff(words.offsets)
    docs = len(counts)
    keys = np.zeros((docs, 2), dtype=np.uint64)
    if len(words.hashes):
        doc_of_word = np.repeat(np.arange(docs), counts)
        pos = np.arange(len(words.hashes)) - words.offsets[:-1][doc_of_word]
        at = mix(np.arange(int(counts.max()), dtype=np.uint64) * GOLDEN + _SALT)
        terms = mix(words.hashes ^ at[pos])
        other = (terms ^ (terms >> np.uint64(29))) * M1
        nonempty = counts > 0
        starts = words.offsets[:-1][nonempty]
        n = counts[nonempty].astype(np.uint64) * M1
        keys[nonempty, 0] = mix(np.add.reduceat(terms, starts) ^ n)
        keys[nonempty, 1] = mix(np.add.reduceat(other, starts) ^ n ^ _SALT)
    return keys


def signatures(texts: Sequence[str], ngram: int, num_perm: int) -> np.ndarray:
    """MinHash signatures (docs, num_perm) uint32 of the texts' word n-gram sets."""
    out = np.zeros((len(texts), num_perm), dtype=np.uint32)
    for lo in range(0, len(texts), CHUNK):
        out[lo : lo + CHUNK] = _chunk_signatures(
            word_hashes(texts[lo : lo + CHUNK]), ngram, num_perm
        )
    return out


def _chunk_signatures(words: Words, ngram: int, num_perm: int) -> np.ndarray:
    if len(words.offsets) == 1:
        return np.zeros((0, num_perm), dtype=np.uint32)
    grams, row_offsets = shingle_hashes(words, ngram)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(grams, row_offsets, num_perm, SEED)
    return np.asarray(matrix.to_rows(), dtype=np.uint32)


def band_keys(sigs: np.ndarray, bands: int, rows: int, shifted: bool = SHIFTED) -> np.ndarray:
    """One uint64 key per band: (docs, bands), plus (docs, bands - 1) shifted bands if asked.

    Shifted band b covers signature values [b * rows + rows // 2, (b + 1) * rows + rows // 2):
    more chances for a true near duplicate to share a band, from the same signature.
    """
    keys = _band_keys(sigs[:, : bands * rows], bands, rows)
    half = rows // 2
    if shifted and bands > 1 and half:
        extra = _band_keys(sigs[:, half : half + (bands - 1) * rows], bands - 1, rows)
        keys = np.concatenate([keys, extra], axis=1)
    return keys


def _band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    docs = len(sigs)
    v = sigs.reshape(docs, bands, rows).astype(np.uint64)
    h = np.full((docs, bands), np.uint64(rows), dtype=np.uint64)
    for r in range(rows):
        h = mix(h * GOLDEN + v[:, :, r])
    return h


@dataclass(frozen=True)
class Sketch:
    """What near-duplicate search keeps of each document: exact key and band keys."""

    text_keys: np.ndarray  # (docs, 2) uint64
    band_keys: np.ndarray  # (docs, bands) uint64


def sketch(
    texts: Sequence[str], ngram: int, bands: int, rows: int, shifted: bool = SHIFTED
) -> Sketch:
    tk = np.zeros((len(texts), 2), dtype=np.uint64)
    width = 2 * bands - 1 if shifted and bands > 1 and rows > 1 else bands
    bk = np.zeros((len(texts), width), dtype=np.uint64)
    for lo in range(0, len(texts), CHUNK):
        words = word_hashes(texts[lo : lo + CHUNK])
        tk[lo : lo + CHUNK] = text_keys(words)
        sigs = _chunk_signatures(words, ngram, bands * rows)
        bk[lo : lo + CHUNK] = band_keys(sigs, bands, rows, shifted)
    return Sketch(text_keys=tk, band_keys=bk)


def exact_groups(keys: np.ndarray) -> np.ndarray:
    """For each row, the first row (lowest index) with the same key."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(len(keys)), keys[:, 1], keys[:, 0]))
    k = keys[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = (k[1:] != k[:-1]).any(axis=1)
    first = order[np.flatnonzero(new)]
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = first[np.cumsum(new) - 1]
    return out


def candidate_pairs(bkeys: np.ndarray) -> np.ndarray:
    """(pairs, 2) int64 row pairs a < b sharing a band key: within each bucket, every member
    with the bucket's first member, and consecutive members (a path), deduplicated."""
    docs = len(bkeys)
    found = []
    for b in range(bkeys.shape[1]):
        order = np.argsort(bkeys[:, b], kind="stable")
        k = bkeys[order, b]
        same = k[1:] == k[:-1]
        if not same.any():
            continue
        new = np.concatenate([[True], ~same])
        group_first = order[np.flatnonzero(new)][np.cumsum(new) - 1]
        idx = np.flatnonzero(same) + 1  # members after their bucket's first
        found.append(np.stack([group_first[idx], order[idx]], axis=1))
        chain = idx[:-1][same[idx[:-1]]]  # consecutive members, both after the first
        found.append(np.stack([order[chain], order[chain + 1]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found), axis=1).astype(np.int64)
    code = distinct(pairs[:, 0] * docs + pairs[:, 1])
    return np.stack([code // docs, code % docs], axis=1)


def shingle_sets(texts: Sequence[str], ngram: int) -> list[np.ndarray]:
    """Sorted unique shingle hashes of each text."""
    out: list[np.ndarray] = []
    for lo in range(0, len(texts), CHUNK):
        grams, offsets = shingle_hashes(word_hashes(texts[lo : lo + CHUNK]), ngram)
        bounds = offsets.astype(np.int64).tolist()
        for a, b in itertools.pairwise(bounds):
            s = np.sort(grams[a:b])
            out.append(s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) > 1 else s)
    return out


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique arrays."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return 1.0 if not len(b) else 0.0
    pos = np.searchsorted(b, a)
    inter = int(np.count_nonzero(b[np.minimum(pos, len(b) - 1)] == a))
    return inter / (len(a) + len(b) - inter)


def clusters(
    texts: Sequence[str],
    ngram: int,
    bands: int,
    rows: int,
    threshold: float,
    shifted: bool = SHIFTED,
) -> list[list[int]]:
    """Groups of row indices (size >= 2, ascending) of near duplicates: a candidate pair (one
    band of `rows` MinHash values equal) is linked when its exact n-gram Jaccard >= threshold."""
    return link(texts, sketch(texts, ngram, bands, rows, shifted).band_keys, ngram, threshold)


def link(texts: Sequence[str], bkeys: np.ndarray, ngram: int, threshold: float) -> list[list[int]]:
    """Verify candidate pairs of the band keys on exact Jaccard and merge them by union-find."""
    return link_pairs(
        candidate_pairs(bkeys), lambda rows: [texts[i] for i in rows], ngram, threshold
    )


def link_pairs(
    pairs: np.ndarray,
    fetch: Callable[[list[int]], list[str]],
    ngram: int,
    threshold: float,
) -> list[list[int]]:
    """Groups (ascending rows, size >= 2) of the pairs whose exact n-gram Jaccard >= threshold.

    `fetch(rows)` gives the texts of those rows. Pairs are verified in blocks of `PAIR_BLOCK`,
    recomputing the shingle sets of that block's documents only, so memory stays bounded
    whatever the share of duplicates. A pair whose rows are linked already is not verified: the
    groups are the connected components of the verified pairs, whatever their order."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        root = i
        while parent.get(root, root) != root:
            root = parent[root]
        while i != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    for lo in range(0, len(pairs), PAIR_BLOCK):
        block = [(a, b) for a, b in pairs[lo : lo + PAIR_BLOCK].tolist() if find(a) != find(b)]
        if not block:
            continue
        involved = sorted({i for p in block for i in p})
        sets = dict(zip(involved, shingle_sets(fetch(involved), ngram), strict=True))
        for a, b in block:
            ra, rb = find(a), find(b)
            if ra != rb and set_jaccard(sets[a], sets[b]) >= threshold:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in sorted(parent):  # only rows of linked pairs can share a group
        groups.setdefault(find(i), []).append(i)
    for root, members in groups.items():
        if members[0] != root:
            members.insert(0, root)
    return sorted(groups.values())
