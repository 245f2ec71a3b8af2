"""Near-duplicate question removal: character-shingle MinHash LSH (rensa), exact Jaccard check.

The published pipeline removed questions whose sentence-embedding cosine exceeded 0.91. We use
character shingles instead, because:
- it runs offline: no embedding model to download (these machines have no model hub), nothing
  to pin, nothing to run on a GPU;
- it is deterministic and exact: a pair is linked only when the exact Jaccard of its shingle
  sets reaches the threshold (LSH only proposes candidates), so the result does not depend on a
  model's numerics, a batch size or hardware;
- it is linear: MinHash signatures and LSH buckets find candidates without comparing every pair.
What it cannot see is a paraphrase with different words; questions are short, templated by kind
and domain, and the near-duplicates that matter (the same question reworded slightly, or asked
again in a backfill round) share most of their characters.

Text is normalized first (lowercase, runs of non-alphanumerics to one space), then cut into
overlapping `ngram`-character shingles. Survivor choice is deterministic: questions are visited
in ascending id order (ids put earlier backfill rounds first) and one is kept unless it is a near
duplicate of a question kept before it, so the smallest id of every group survives whatever
order the questions came in.
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


def near_duplicates(
    items: Sequence[tuple[str, str]], ngram: int, threshold: float
) -> dict[str, str]:
    """For (id, text) items: dropped id -> the id of the kept question it duplicates."""
    order = sorted(items)
    lsh = rensa.RMinHashLSH(threshold=threshold, num_perm=NUM_PERM, num_bands=BANDS)
    sets: list[set[str]] = []
    dropped: dict[str, str] = {}
    for i, (item_id, text) in enumerate(order):
        s = shingles(text, ngram)
        sets.append(s)
        mh = rensa.RMinHash(num_perm=NUM_PERM, seed=SEED)
        mh.update(sorted(s))
        match = next(
            (k for k in sorted(lsh.query(mh)) if jaccard(s, sets[k]) >= threshold),
            None,
        )
        if match is None:
            lsh.insert(i, mh)  # only kept questions are in the index
        else:
            dropped[item_id] = order[match][0]
    return dropped
