"""Near-duplicate question removal over the whole AFT set: character-shingle MinHash LSH
(rensa), then an exact Jaccard check.

The published pipeline removed questions whose sentence-embedding cosine exceeded 0.91, across
the whole question set. We compare the same set (every section, every round) with character
shingles instead, because:
- it runs offline: no embedding model to download (these machines have no model hub), nothing
  to pin, nothing to run on a GPU;
- it is deterministic and exact: a pair is linked only when the exact Jaccard of its shingle
  sets reaches the threshold (LSH only proposes candidates), so the result does not depend on a
  model's numerics, a batch size or hardware;
- it is incremental and near linear: MinHash signatures and LSH buckets find candidates without
  comparing every pair, and a backfill round only adds its own questions to the index. TF-IDF
  cosine, the other offline choice, weighs words by a vocabulary of the whole set, so adding a
  round would re-weigh every earlier pair and could change an earlier round's decision.
What it cannot see is a paraphrase with different words; questions are short, templated by kind
and domain, and the near-duplicates that matter (the same question asked slightly reworded in
another section or domain, or again in a backfill round) share most of their characters.

Text is normalized first (lowercase, runs of non-alphanumerics to one space), then cut into
overlapping `ngram`-character shingles. Survivor choice is greedy in the order questions are
offered: one is kept unless it is a near duplicate of a question kept before it, so the caller's
order decides which member of a group survives (`near_duplicates` uses ascending id order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import rensa

NUM_PERM = 128
BANDS = 32
"""32 bands of 4 rows: a pair at Jaccard 0.5 becomes a candidate with probability ~0.87, at
0.6 ~0.99, at 0.3 ~0.23; candidates are then checked exactly."""
SEED = 1234
_NON_ALNUM = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def shingles(text: str, n: int) -> set[str]:
    t = normalize(text)
    if len(t) <= n:
        return {t}
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class QuestionIndex:
    """The questions kept so far. `offer` keeps a question unless it is a near duplicate of
    one kept before it; only kept questions enter the index."""

    def __init__(self, ngram: int, threshold: float):
        self.ngram = ngram
        self.threshold = threshold
        self._lsh = rensa.RMinHashLSH(threshold=threshold, num_perm=NUM_PERM, num_bands=BANDS)
        self._ids: list[str] = []
        self._sets: list[set[str]] = []

    def __len__(self) -> int:
        return len(self._ids)

    def offer(self, item_id: str, text: str) -> str | None:
        """None if the question is kept (and indexed), else the id of the kept question it
        duplicates (the earliest kept one that reaches the threshold)."""
        s = shingles(text, self.ngram)
        mh = rensa.RMinHash(num_perm=NUM_PERM, seed=SEED)
        mh.update(sorted(s))
        for k in sorted(self._lsh.query(mh)):
            if jaccard(s, self._sets[k]) >= self.threshold:
                return self._ids[k]
        self._lsh.insert(len(self._ids), mh)
        self._ids.append(item_id)
        self._sets.append(s)
        return None


def near_duplicates(
    items: Sequence[tuple[str, str]], ngram: int, threshold: float
) -> dict[str, str]:
    """For (id, text) items: dropped id -> the id of the kept question it duplicates. Items are
    visited in ascending id order, so the smallest id of every group survives whatever order
    they came in."""
    index = QuestionIndex(ngram, threshold)
    dropped = {}
    for item_id, text in sorted(items):
        match = index.offer(item_id, text)
        if match is not None:
            dropped[item_id] = match
    return dropped
