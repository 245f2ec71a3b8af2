"""Best-fit packing of token segments into fixed-length sequences.

Policy for documents longer than `seq_len`: they are split into `seq_len`-token pieces, each a
segment of its own (a continuation), so nothing is dropped or truncated. Every segment ends up in
exactly one sequence; the rest of a sequence is padding.
"""

from __future__ import annotations

import numpy as np


def split_long(lengths: list[int], seq_len: int) -> list[tuple[int, int, int]]:
    """(doc, offset within doc, length) pieces, each at most seq_len tokens."""
    pieces = []
    for doc, n in enumerate(lengths):
        for off in range(0, n, seq_len):
            pieces.append((doc, off, min(seq_len, n - off)))
    return pieces


def best_fit(lengths: list[int], seq_len: int) -> list[list[int]]:
    """Assign items (by index) to bins of capacity seq_len; best-fit decreasing.

    Bins are bucketed by remaining capacity, so each placement scans at most seq_len buckets.
    Ties break by item index, so the result is deterministic.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    by_room: list[list[int]] = [[] for _ in range(seq_len + 1)]
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = lengths[i]
        target = next((r for r in range(n, seq_len + 1) if by_room[r]), None)
        if target is None:
            b = len(bins)
            bins.append([])
            room.append(seq_len)
        else:
            b = by_room[target].pop()
        bins[b].append(i)
        room[b] -= n
        by_room[room[b]].append(b)
    return bins


def layout(
    tokens: list[np.ndarray], seq_len: int, pad_id: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pack documents (token arrays, EOS included) into a [n_seq, seq_len] array.

    Returns the array and a segments table with columns (sequence, start, length, doc, offset):
    segment `length` tokens of document `doc`, starting at `offset` within the document, sit at
    `start` in `sequence`. Sequences are shuffled deterministically by `seed`.
    """
    pieces = split_long([len(t) for t in tokens], seq_len)
    bins = best_fit([p[2] for p in pieces], seq_len)
    perm = np.random.default_rng(seed).permutation(len(bins))
    dtype = (
        np.uint16 if pad_id < 2**16 and all(t.max(initial=0) < 2**16 for t in tokens) else np.uint32
    )
    data = np.full((len(bins), seq_len), pad_id, dtype=dtype)
    segments = []
    for s, b in enumerate(perm):
        start = 0
        for i in sorted(bins[b], key=lambda i: pieces[i][:2]):
            doc, off, n = pieces[i]
            data[s, start : start + n] = tokens[doc][off : off + n]
            segments.append((s, start, n, doc, off))
            start += n
    seg = np.array(segments, dtype=np.int64).reshape(-1, 5)
    return data, seg
