"""What the quality filters measure, computed for a batch of documents in a few array passes.

`Batch(texts)` holds a batch of documents and computes, on first use, what the filters read:

- `chars`: per document, from one pass over the batch's code points (a class table built from
  the filters' own regular expressions, so the classes are exactly theirs): whitespace-separated
  words (`\\S+`), their characters, words with a letter, and symbol characters;
- `words`: the lowercase `\\w+` words of every document as 64-bit hashes and lengths, from the
  same vectorized splitter that dedup uses (`pipeline.text.word_hashes`); stop words and
  the repetition measures (`pipeline.quality.repetition`) read these.

Every document is split into words once; each filter reads the shared measures.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.text import Words, code_points_matching, word_hashes

WORD = re.compile(r"\S+")
ALPHA = re.compile(r"[^\W\d_]")
SYMBOL = re.compile(r"[^\w\s.,;:!?'\"()\-–—/&%$@]")
_SPACE = re.compile(r"\s")
_CLASSES = ((1, _SPACE), (2, ALPHA), (4, SYMBOL))  # bit, characters
SPACE, LETTER, SYMBOL_BIT = 1, 2, 4
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_BMP = 0x10000


@functools.cache
def _class_table() -> np.ndarray:
    """Class bits of every code point below 0x10000, from the regular expressions themselves."""
    table = np.zeros(_BMP, dtype=np.uint8)
    for bit, pattern in _CLASSES:
        table[code_points_matching(pattern)] |= bit
    return table


def _classify(cps: np.ndarray) -> np.ndarray:
    cls = _class_table()[np.minimum(cps, _BMP - 1)]
    astral = np.flatnonzero(cps >= _BMP)
    if len(astral):  # emoji and the like: few distinct ones, classified one by one
        distinct, which = np.unique(cps[astral], return_inverse=True)
        bits = [sum(bit for bit, p in _CLASSES if p.match(chr(cp))) for cp in distinct.tolist()]
        cls[astral] = np.array(bits, dtype=np.uint8)[which]
    return cls


@dataclass(frozen=True)
class CharStats:
    """Per document: characters, `\\S+` words, their characters, words with a letter, symbols."""

    length: np.ndarray
    words: np.ndarray
    word_chars: np.ndarray
    alpha_words: np.ndarray
    symbols: np.ndarray


def char_stats(texts: Sequence[str]) -> CharStats:
    n = len(texts)
    length = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    if not length.any():
        z = np.zeros(n, dtype=np.int64)
        return CharStats(length, z, z, z, z)
    # a space after every document: no `\S+` word crosses a document boundary, and document
    # i's counts are sums over [start[i], start[i + 1]), where the space adds nothing
    text = " ".join(texts) + " "
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(length[:-1] + 1, out=start[1:])
    cls = _classify(cps)
    nonspace = (cls & SPACE) == 0
    begins = nonspace.copy()
    begins[1:] &= ~nonspace[:-1]
    words = _per_document(begins, start)
    # a word has a letter when the most of its letter flags, from its start to the next word's
    # (whitespace between them has no letter), is 1; per document, over its words
    first = np.flatnonzero(begins)
    letters = np.maximum.reduceat(((cls & LETTER) != 0).view(np.uint8), first)
    by_word = np.zeros(len(first) + 1, dtype=np.int64)
    np.cumsum(letters, out=by_word[1:])
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(words, out=bounds[1:])
    return CharStats(
        length=length,
        words=words,
        word_chars=_per_document(nonspace, start),
        alpha_words=by_word[bounds[1:]] - by_word[bounds[:-1]],
        symbols=_per_document((cls & SYMBOL_BIT) != 0, start),
    )


def _per_document(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """How many of each document's characters the mask holds (one pass, no per-character sum)."""
    return np.add.reduceat(mask.view(np.uint8), start, dtype=np.int64)


@functools.cache
def _stop_hashes() -> np.ndarray:
    return word_hashes([" ".join(STOP_WORDS)]).hashes


def stop_word_counts(words: Words) -> np.ndarray:
    """How many distinct stop words each document contains."""
    docs = len(words.offsets) - 1
    stops = np.sort(_stop_hashes())
    hit = np.flatnonzero(np.isin(words.hashes, stops))
    doc = np.searchsorted(words.offsets, hit, side="right") - 1
    which = np.searchsorted(stops, words.hashes[hit])
    pairs = np.unique(doc * len(stops) + which)
    return np.bincount(pairs // len(stops), minlength=docs)


class Batch:
    """A batch of documents and the measures the filters share, each computed on first use."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    @functools.cached_property
    def chars(self) -> CharStats:
        return char_stats(self.texts)

    @functools.cached_property
    def words(self) -> Words:
        return word_hashes(self.texts)

    @functools.cached_property
    def stop_words(self) -> np.ndarray:
        return stop_word_counts(self.words)

    def select(self, docs: np.ndarray) -> Words:
        """The lowercase words of the given documents only (offsets renumbered)."""
        w = self.words
        counts = (w.offsets[docs + 1] - w.offsets[docs]).astype(np.int64)
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        idx = np.repeat(w.offsets[docs] - offsets[:-1], counts) + np.arange(int(offsets[-1]))
        return Words(hashes=w.hashes[idx], offsets=offsets, lengths=w.lengths[idx])
