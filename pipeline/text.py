"""Text primitives shared by dedup and quality: word splitting and vectorized word hashing.

`normalize_words` is the reference splitter (lowercase, runs of Unicode `\\w`). `word_hashes`
gives the same words' 64-bit hashes for a batch of texts without per-token Python work for ASCII
text: the texts are joined into one byte buffer, a lookup table lowercases it and marks word
bytes ([0-9a-z_], as `\\w` on ASCII), and word starts and ends are where neighbouring marks
differ. Texts with non-ASCII characters take the reference path, re-joined with single spaces,
so both paths give the same words. Each word is hashed from unaligned 8-byte loads of the buffer
(splitmix64 finalizer, length mixed in): the hash depends on the word only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+")
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)

_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A") : ord("Z") + 1] += 32
_IS_WORD = np.zeros(256, dtype=bool)
for _c in b"0123456789abcdefghijklmnopqrstuvwxyz_":
    _IS_WORD[_c] = True
_IS_WORD[128:] = True  # only present in the re-joined output of the Unicode path


def normalize_words(text: str) -> list[str]:
    """The reference word splitter: lowercase, then runs of Unicode word characters."""
    return _WORD.findall(text.lower())


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, vectorized (uint64 wraps silently in numpy arrays)."""
    x = x ^ (x >> np.uint64(30))
    x = x * M1
    x = x ^ (x >> np.uint64(27))
    x = x * M2
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True)
class Words:
    """Word hashes of a chunk of documents: flat uint64 array and per-document offsets."""

    hashes: np.ndarray
    offsets: np.ndarray  # int64, len(docs) + 1
    lengths: np.ndarray  # int64, characters of each word


def word_hashes(texts: Sequence[str]) -> Words:
    """Hash the normalized words of each text; equal word sequences give equal hash arrays."""
    all_ascii = all(t.isascii() for t in texts)
    parts = [t.encode() if t.isascii() else " ".join(normalize_words(t)).encode() for t in texts]
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    # a separator byte before and after every document, and 8 spare bytes for unaligned loads
    lowered = _LOWER[np.frombuffer(b"\n" + b"\n".join(parts) + b"\n" + b"\0" * 8, np.uint8)]
    word = _IS_WORD[lowered]
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.searchsorted(starts, np.cumsum(lengths + 1), side="right")
    windows = np.ndarray(
        shape=(len(lowered) - 7,), dtype="<u8", buffer=lowered.data, offset=0, strides=(1,)
    )
    length = (ends - starts).astype(np.uint64)
    chars = (ends - starts).astype(np.int64)
    if not all_ascii:  # UTF-8 continuation bytes do not start a character
        cont = np.zeros(len(lowered) + 1, dtype=np.int64)
        np.cumsum((lowered & 0xC0) == 0x80, out=cont[1:])
        chars -= cont[ends] - cont[starts]
    # first 8 bytes of every word, masked to its length
    shift = np.minimum(length, np.uint64(8)) * np.uint64(8)
    mask = np.where(
        shift == 64, np.uint64(0xFFFFFFFFFFFFFFFF), (np.uint64(1) << (shift & np.uint64(63))) - 1
    )
    h = mix((windows[starts] & mask) ^ length * GOLDEN)
    sel = np.flatnonzero(length > 8)
    k = 8
    while len(sel):  # longer words, 8 bytes at a time
        remaining = np.minimum(length[sel] - np.uint64(k), np.uint64(8))
        shift = remaining * np.uint64(8)
        mask = np.where(
            shift == 64,
            np.uint64(0xFFFFFFFFFFFFFFFF),
            (np.uint64(1) << (shift & np.uint64(63))) - 1,
        )
        h[sel] = mix(h[sel] + GOLDEN ^ (windows[starts[sel] + k] & mask))
        k += 8
        sel = sel[length[sel] > k]
    return Words(hashes=mix(h), offsets=offsets, lengths=chars)
