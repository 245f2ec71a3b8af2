"""MinHash signatures (rensa, compiled) and LSH banding with verified candidate pairs.

A pair becomes a candidate when all `rows` values of one of the `bands` match; it is linked only
when its signature-estimated Jaccard (the share of equal signature values) reaches `threshold`,
which removes most of the banding's false positives. Linked pairs are merged by union-find.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

import numpy as np
import rensa

_WORD = re.compile(r"\w+")
SEED = 1234


def normalize_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, n: int) -> list[str]:
    words = normalize_words(text)
    if len(words) <= n:
        return [" ".join(words)]
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def signatures(texts: list[str], ngram: int, num_perm: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, num_perm), dtype=np.uint32)
    matrix = rensa.RMinHash.digest_matrix_from_token_sets(
        (shingles(t, ngram) for t in texts), num_perm=num_perm, seed=SEED
    )
    return np.asarray(matrix.to_rows(), dtype=np.uint32)


def candidate_pairs(sigs: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for b in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        band = np.ascontiguousarray(sigs[:, b * rows : (b + 1) * rows])
        for i, key in enumerate(band):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            if len(members) > 1:
                first = members[0]
                pairs.update((first, m) for m in members[1:])
                # chain the rest so the bucket links as a path, not all n^2 pairs
                pairs.update(itertools.pairwise(members[1:]))
    return pairs


def clusters(sigs: np.ndarray, bands: int, rows: int, threshold: float) -> list[list[int]]:
    """Groups of row indices (size >= 2) linked by verified candidate pairs."""
    parent = list(range(len(sigs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in candidate_pairs(sigs, bands, rows):
        if float(np.mean(sigs[a] == sigs[b])) >= threshold:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(sigs)):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]
