"""A labelled near-duplicate corpus, deterministic by seed, for dedup tests and benchmarks.

`labelled_corpus(n, seed)` returns `n` English-like documents (Zipf-distributed words over a
pseudo-word vocabulary, sentences and paragraphs) of which `dup_fraction` are edited copies of
another document (each source copied at most once, so every cluster is a labelled pair). Edits
mix word substitutions, deletions, insertions, a rewritten span with a rotation, and truncation
or extension, at a per-pair rate drawn so that pair Jaccard spreads over the whole range (about
0.1 to 1). The Jaccard of each labelled pair is measured exactly on word n-gram sets of the
normalized text (`normalize_words`, the reference splitter), the quantity dedup estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.text import normalize_words

_CONSONANTS = list("bcdfghjklmnprstvwz")
_VOWELS = list("aeiou")
ENGLISH_HEAD = (
    *("the", "of", "and", "to", "a", "in", "that", "is", "it", "for", "with", "as", "claude"),
    *("be", "on", "this", "have", "by", "not", "are", "or", "from", "at", "an", "which"),
)
"""Head words for `labelled_corpus(head_words=...)`: documents that read like English to the
quality filters (stop words) and name the model."""


@dataclass(frozen=True)
class LabelledCorpus:
    texts: list[str]
    pairs: list[tuple[int, int]]
    """(source, copy) row indices of every labelled pair."""
    jaccard: np.ndarray
    """Exact word n-gram Jaccard of each pair, aligned with `pairs`."""


def _vocabulary(rng: np.random.Generator, size: int, taken: set[str] | None = None) -> list[str]:
    words: set[str] = set(taken or ())
    out: list[str] = []
    while len(out) < size:
        syllables = int(rng.integers(1, 4))
        w = "".join(
            _CONSONANTS[int(rng.integers(len(_CONSONANTS)))] + _VOWELS[int(rng.integers(5))]
            for _ in range(syllables)
        )
        if rng.random() < 0.3:
            w += _CONSONANTS[int(rng.integers(len(_CONSONANTS)))]
        if w not in words:
            words.add(w)
            out.append(w)
    return out


def _render(idx: np.ndarray, forms: list[str], v: int) -> str:
    """Words with sentence capitals, commas, full stops and paragraph breaks by position."""
    pos = np.arange(len(idx))
    variant = np.zeros(len(idx), dtype=np.int64)
    variant[pos % 7 == 3] = 2  # comma
    variant[pos % 13 == 0] = 1  # sentence start: capitalized
    end = (pos % 13 == 12) | (pos == len(idx) - 1)
    variant[end] = 3  # full stop
    variant[end & (pos % 91 == 90)] = 4  # full stop and paragraph break
    return " ".join(map(forms.__getitem__, (idx + v * variant).tolist()))


def _edit(idx: np.ndarray, rate: float, rng: np.random.Generator, draw) -> np.ndarray:
    n = len(idx)
    k = min(n - 1, round(rate * n))
    kind = int(rng.integers(4))
    if kind == 0:  # substitutions
        out = idx.copy()
        out[rng.choice(n, size=k, replace=False)] = draw(k)
        return out
    if kind == 1:  # deletions and insertions
        pos = np.sort(rng.choice(n, size=k, replace=False))
        delete = rng.random(k) < 0.5
        out = np.delete(idx, pos[delete])
        ins = pos[~delete] - np.searchsorted(pos[delete], pos[~delete])
        return np.insert(out, ins, draw(len(ins)))
    if kind == 2:  # a rewritten span plus a moved paragraph
        out = idx.copy()
        start = int(rng.integers(0, max(1, n - k)))
        out[start : start + k] = draw(len(out[start : start + k]))
        cut = int(rng.integers(1, n))
        return np.concatenate([out[cut:], out[:cut]])
    if rng.random() < 0.5:  # truncation
        return idx[: max(1, n - k)]
    return np.concatenate([idx, draw(k)])  # extension


def ngram_set(text: str, n: int) -> set[tuple[str, ...]]:
    words = normalize_words(text)
    if len(words) <= n:
        return {tuple(words)}
    return set(zip(*(words[i:] for i in range(n)), strict=False))


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = ngram_set(a, n), ngram_set(b, n)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def labelled_corpus(
    n: int,
    seed: int = 0,
    *,
    words: int = 400,
    dup_fraction: float = 0.1,
    ngram: int = 5,
    vocab_size: int = 30000,
    measure: bool = True,
    head_words: Sequence[str] = (),
) -> LabelledCorpus:
    """`measure=False` skips the exact Jaccard of the pairs (NaN), for large unlabelled runs.
    `head_words` become the most frequent words (English stop words and a model name make
    documents that pass the quality filters)."""
    rng = np.random.default_rng(seed)
    vocab = [*head_words, *_vocabulary(rng, vocab_size - len(head_words), set(head_words))]
    forms = [
        *vocab,
        *(w.capitalize() for w in vocab),
        *(w + "," for w in vocab),
        *(w + "." for w in vocab),
        *(w + ".\n\n" for w in vocab),
    ]
    p = 1.0 / np.arange(1, vocab_size + 1, dtype=np.float64) ** 1.05
    cdf = np.cumsum(p / p.sum())

    def draw(k: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cdf, rng.random(k)), vocab_size - 1)

    n_dup = round(n * dup_fraction)
    n_orig = n - n_dup
    lengths = np.maximum(20, rng.normal(words, words * 0.15, size=n_orig).astype(np.int64))
    flat = draw(int(lengths.sum()))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    originals = [flat[bounds[i] : bounds[i + 1]] for i in range(n_orig)]
    texts = [_render(w, forms, vocab_size) for w in originals]
    sources = rng.choice(n_orig, size=n_dup, replace=False)
    pairs: list[tuple[int, int]] = []
    for s in sources:
        # edit rates spread pair Jaccard roughly uniformly from ~0.1 to 1
        rate = float(rng.uniform(0.0, 0.3)) ** 1.3
        copy = _edit(originals[int(s)], rate, rng, draw)
        pairs.append((int(s), len(texts)))
        texts.append(_render(copy, forms, vocab_size))
    # shuffle rows so that copies are not all at the end
    perm = rng.permutation(len(texts))
    where = np.empty_like(perm)
    where[perm] = np.arange(len(perm))
    texts = [texts[i] for i in perm]
    pairs = [(int(where[a]), int(where[b])) for a, b in pairs]
    jac = np.array(
        [jaccard(texts[a], texts[b], ngram) if measure else np.nan for a, b in pairs],
        dtype=np.float64,
    )
    return LabelledCorpus(texts=texts, pairs=pairs, jaccard=jac)
