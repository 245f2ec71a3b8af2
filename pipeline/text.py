"""Text primitives shared by dedup and quality: word splitting and vectorized word hashing.

`normalize_words` is the reference splitter (lowercase, runs of Unicode `\\w`). `word_hashes`
gives the same words' 64-bit hashes for a batch of texts without per-token Python work: the
texts are joined into one byte buffer, `bytes.lower` lowercases it, a `bytes.translate` table
marks word bytes ([0-9A-Za-z_], as `\\w` on ASCII), and word starts and ends are where
neighbouring marks differ. Texts with non-ASCII characters are first lowercased (`str.lower`,
as the reference) and their non-ASCII characters that are not `\\w` become spaces, all such
texts of a batch in one array pass over their code points (`word_characters`); every remaining
non-ASCII byte is then part of a word, so both paths give the reference's words. Each word is
hashed from unaligned 8-byte loads of the buffer (splitmix64 finalizer, length mixed in): the
hash depends on the word only.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
_BMP = 0x10000
_SURROGATES = slice(0xD800, 0xE000)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)

_ONES, _EIGHT = np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(8)
_IS_WORD = np.zeros(256, dtype=bool)
for _c in b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_":
    _IS_WORD[_c] = True
_IS_WORD[128:] = True  # only `\w` characters are left non-ASCII (`word_characters`)
_WORD_BYTES = _IS_WORD.astype(np.uint8).tobytes()  # a `bytes.translate` table: 1 in a word


def code_points_matching(pattern: re.Pattern[str]) -> np.ndarray:
    """True for each code point below 0x10000 that the one-character `pattern` matches, from the
    regex itself: runs of matches over all of them in one string (fast), the surrogates (which
    no string can hold decoded) one by one."""
    points = np.arange(_BMP, dtype=np.uint32)
    points[_SURROGATES] = 0
    table = np.zeros(_BMP, dtype=bool)
    for run in re.finditer(f"(?:{pattern.pattern})+", points.tobytes().decode("utf-32-le")):
        table[run.start() : run.end()] = True
    table[_SURROGATES] = [pattern.match(chr(c)) is not None for c in range(0xD800, 0xE000)]
    return table


@functools.cache
def _word_table() -> np.ndarray:
    """True for the code points below 0x10000 that `\\w` matches."""
    return code_points_matching(_WORD_CHAR)


def word_characters(texts: Sequence[str]) -> list[bytes]:
    """Each text lowercased, with every non-ASCII character that is not `\\w` made a space, as
    UTF-8: its `\\w` runs are the reference's words and only ASCII bytes separate them."""
    lowered = [t.lower() for t in texts]
    cps = np.frombuffer(
        "".join(lowered).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
    ).copy()
    high = np.flatnonzero(cps >= 0x80)
    if len(high):
        values = cps[high]
        word = _word_table()[np.minimum(values, _BMP - 1)]
        astral = np.flatnonzero(values >= _BMP)
        if len(astral):  # emoji and the like: few distinct ones, matched one by one
            distinct, which = np.unique(values[astral], return_inverse=True)
            hits = [bool(_WORD_CHAR.match(chr(c))) for c in distinct.tolist()]
            word[astral] = np.array(hits, dtype=bool)[which]
        cps[high[~word]] = 0x20
    # UTF-8 bytes of each code point, to cut the encoded buffer back into texts
    size = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= _BMP)
    cum = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(size, out=cum[1:])
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in lowered], out=bounds[1:])
    ends = cum[bounds].tolist()
    data = cps.tobytes().decode("utf-32-le").encode()
    return [data[a:b] for a, b in itertools.pairwise(ends)]


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
    ascii_ = [t.isascii() for t in texts]
    all_ascii = all(ascii_)
    parts = [t.encode() if a else b"" for t, a in zip(texts, ascii_, strict=True)]
    if not all_ascii:
        other = [i for i, a in enumerate(ascii_) if not a]
        for i, data in zip(other, word_characters([texts[i] for i in other]), strict=True):
            parts[i] = data
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    # a separator byte before and after every document, and 8 spare bytes for unaligned loads
    joined = b"\n" + b"\n".join(parts) + b"\n" + b"\0" * 8
    lowered = np.frombuffer(joined.lower(), np.uint8)  # bytes.lower: ASCII letters only
    word = np.frombuffer(joined.translate(_WORD_BYTES), np.bool_)
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.searchsorted(starts, np.cumsum(lengths + 1), side="right")
    windows = np.ndarray(
        shape=(len(lowered) - 7,), dtype="<u8", buffer=lowered.data, offset=0, strides=(1,)
    )
    chars = ends - starts
    length = chars.astype(np.uint64)
    if not all_ascii and len(starts):  # UTF-8 continuation bytes do not start a character
        # only words hold non-ASCII bytes: each continuation byte counts for the word it is in
        cont = np.flatnonzero((lowered & 0xC0) == 0x80)
        inside = np.searchsorted(starts, cont, side="right") - 1
        chars = chars - np.bincount(inside, minlength=len(starts))
    # first 8 bytes of every word, masked to its length (1 to 8 bytes: a shift of 56 to 0)
    h = windows[starts] & (_ONES >> (np.uint64(64) - np.minimum(length, _EIGHT) * _EIGHT))
    h = mix(h ^ length * GOLDEN)
    sel = np.flatnonzero(length > 8)
    k = 8
    while len(sel):  # longer words, 8 bytes at a time
        remaining = np.minimum(length[sel] - np.uint64(k), _EIGHT)
        mask = _ONES >> (np.uint64(64) - remaining * _EIGHT)
        h[sel] = mix(h[sel] + GOLDEN ^ (windows[starts[sel] + k] & mask))
        k += 8
        sel = sel[length[sel] > k]
    return Words(hashes=h, offsets=offsets, lengths=chars)
