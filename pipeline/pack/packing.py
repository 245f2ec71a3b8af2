"""Packing documents into fixed-length sequences: dense, lossless, deterministic.

Policy (`layout`), for documents given as token arrays that already end in EOS:

1. A document longer than `seq_len` is cut into `seq_len`-token pieces; when its last piece would
   be shorter than `min_piece`, the piece before it gives up tokens so that it is not.
2. Best-fit decreasing (BFD) packs whole documents (and those pieces) into sequences.
3. BFD sequences are kept, the fullest first, while the rest can still be packed so that padding
   is at most `max_padding` of the packed tokens; when even the floor (ceil(tokens / seq_len)
   sequences) has more padding than that, as many are kept as the floor allows. The other
   sequences are reopened and their documents re-packed densely (`dense`): each sequence takes
   whole documents while they leave either no room or at least `min_piece` tokens of it, then
   the head of a longer document fills the room and the rest of that document (a continuation
   piece) goes back into the pool. No piece of a split document is shorter than `min_piece`, so
   a room smaller than that stays padding, and a document is split only to fill a room. Should
   the dense pass still end over budget, more BFD sequences are reopened and it runs again.

`min_piece` is capped at seq_len // 4, so that short sequences can still be filled.
Each piece is a segment: (sequence, start, length, doc, offset), where `offset > 0` marks a
continuation. Every token of every document lands in exactly one segment, each document's
segments in offset order tile it exactly, and the rest of a sequence is padding. Sequences are
shuffled by `seed`; everything else is a pure function of the lengths.
"""

from __future__ import annotations

import bisect

import numpy as np

MIN_PIECE = 32
"""Shortest piece a split document may have (both the head and each continuation)."""
MAX_PADDING = 0.01
"""Padding budget: share of the packed tokens (sequences x seq_len) that may be padding."""

Piece = tuple[int, int, int]  # (doc, offset within doc, length)


def effective_min_piece(seq_len: int, min_piece: int) -> int:
    """`min_piece`, capped at a quarter of a sequence so that short sequences can be filled."""
    return max(1, min(min_piece, seq_len // 4))


def split_long(lengths: list[int], seq_len: int, min_piece: int = 1) -> list[Piece]:
    """(doc, offset within doc, length) pieces, each at most seq_len tokens.

    Documents that fit are one piece. Longer ones are cut into seq_len-token pieces; if the last
    would be shorter than `min_piece` (capped at seq_len // 4), the one before it is shortened.
    """
    m = effective_min_piece(seq_len, min_piece)
    pieces = []
    for doc, n in enumerate(lengths):
        if n <= seq_len:
            pieces.append((doc, 0, n))
            continue
        sizes = [seq_len] * (n // seq_len)
        rest = n % seq_len
        if rest:
            if rest < m:
                sizes[-1] -= m - rest
                rest = m
            sizes.append(rest)
        off = 0
        for size in sizes:
            pieces.append((doc, off, size))
            off += size
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


def sequence_budget(tokens: int, seq_len: int, max_padding: float) -> int:
    """Most sequences `tokens` may occupy: padding within max_padding, never below the floor."""
    floor = -(-tokens // seq_len)
    if max_padding >= 1:
        return max(floor, tokens)  # no budget: at least one token per sequence
    # n * seq_len - tokens <= max_padding * n * seq_len  <=>  n <= tokens / (seq_len * (1 - p))
    return max(floor, int(tokens / (seq_len * (1 - max_padding)) + 1e-9))


class _Pool:
    """Pieces waiting to be placed, bucketed by length, with the lengths present kept sorted."""

    def __init__(self, pieces: list[Piece]):
        self.buckets: dict[int, list[Piece]] = {}
        self.present: list[int] = []
        # pushed smallest-key last, so pop() takes the longest-first, then lowest (doc, offset)
        for p in sorted(pieces, key=lambda p: (p[2], p[0], p[1]), reverse=True):
            self.push(p)

    def __bool__(self) -> bool:
        return bool(self.present)

    def push(self, piece: Piece) -> None:
        n = piece[2]
        bucket = self.buckets.setdefault(n, [])
        if not bucket:
            bisect.insort(self.present, n)
        bucket.append(piece)

    def pop(self, n: int) -> Piece:
        bucket = self.buckets[n]
        piece = bucket.pop()
        if not bucket:
            del self.present[bisect.bisect_left(self.present, n)]
        return piece

    def cut(self, n: int, head: int, seq: list[Piece], rests: list[Piece]) -> int:
        """Take a piece of length n: its first `head` tokens into seq, the rest into rests."""
        doc, off, n = self.pop(n)
        seq.append((doc, off, head))
        rests.append((doc, off + head, n - head))
        return head

    def longest_at_most(self, n: int) -> int | None:
        i = bisect.bisect_right(self.present, n)
        return self.present[i - 1] if i else None

    def longest(self) -> int:
        return self.present[-1]


def dense(pieces: list[Piece], seq_len: int, min_piece: int) -> list[list[Piece]]:
    """Pack pieces densely, splitting one only to fill a room; no piece under min_piece.

    Per sequence, until it is full, the first that applies:
    1. a piece that fills the room exactly;
    2. the longest piece that leaves at least `min_piece` of room (whole);
    3. the head of the longest piece, filling the room exactly, if the rest keeps `min_piece`;
    4. the head of the longest piece that leaves a room the next longest piece can fill by 3;
    5. the longest piece that fits (whole; the room under `min_piece` it leaves is padding);
    else the room is padding. The rest of a cut piece goes back into the pool once the sequence
    holding its head is done, so it never lands next to its head. Returns the sequences as lists
    of (doc, offset, length).
    """
    m = effective_min_piece(seq_len, min_piece)
    pool = _Pool(pieces)
    out: list[list[Piece]] = []
    while pool:
        room, seq, rests = seq_len, [], []
        while pool and room:
            n = pool.longest_at_most(room)
            if n == room:  # 1
                seq.append(pool.pop(n))
                room = 0
                break
            n = pool.longest_at_most(room - m)
            if n is not None:  # 2
                seq.append(pool.pop(n))
                room -= n
                continue
            n = pool.longest()
            if room >= m and n >= room + m:  # 3
                room -= pool.cut(n, room, seq, rests)
                break
            head = min(n, room) - m
            if head >= m and room - head >= m:  # 4, if the next longest can then fill by 3
                piece = pool.pop(n)
                following = pool.longest() if pool else 0
                pool.push(piece)
                if following >= room - head + m:
                    room -= pool.cut(n, head, seq, rests)
                    continue
            short = pool.longest_at_most(room)
            if short is None:
                break
            seq.append(pool.pop(short))  # 5
            room -= short
        out.append(seq)
        for rest in rests:
            pool.push(rest)
    return out


def pack_pieces(
    lengths: list[int], seq_len: int, min_piece: int = MIN_PIECE, max_padding: float = MAX_PADDING
) -> list[list[Piece]]:
    """Sequences as lists of (doc, offset, length) pieces, in a deterministic order (see module)."""
    pieces = split_long(lengths, seq_len, min_piece)
    bins = best_fit([p[2] for p in pieces], seq_len)
    total = sum(lengths)
    budget = sequence_budget(total, seq_len, max_padding)
    fill = [sum(pieces[i][2] for i in b) for b in bins]
    order = sorted(range(len(bins)), key=lambda b: (-fill[b], b))  # fullest first
    # keep the longest prefix of `order` whose count, with the rest packed densely, is in budget
    keep, content = 0, 0
    for b in order:
        rest = total - content - fill[b]
        if keep + 1 + -(-rest // seq_len) > budget:
            break
        keep, content = keep + 1, content + fill[b]
    step = 1
    while True:
        kept = [[pieces[i] for i in bins[b]] for b in order[:keep]]
        reopened = [pieces[i] for b in order[keep:] for i in bins[b]]
        result = kept + dense(reopened, seq_len, min_piece)
        if len(result) <= budget or keep == 0:
            return result
        keep, step = max(0, keep - step), step * 2  # dense left some room: reopen more


def layout(
    tokens: list[np.ndarray],
    seq_len: int,
    pad_id: int,
    seed: int,
    min_piece: int = MIN_PIECE,
    max_padding: float = MAX_PADDING,
) -> tuple[np.ndarray, np.ndarray]:
    """Pack documents (token arrays, EOS included) into a [n_seq, seq_len] array.

    Returns the array and a segments table with columns (sequence, start, length, doc, offset):
    segment `length` tokens of document `doc`, starting at `offset` within the document, sit at
    `start` in `sequence`. Sequences are shuffled deterministically by `seed`.
    """
    seqs = pack_pieces([len(t) for t in tokens], seq_len, min_piece, max_padding)
    perm = np.random.default_rng(seed).permutation(len(seqs))
    dtype = (
        np.uint16 if pad_id < 2**16 and all(t.max(initial=0) < 2**16 for t in tokens) else np.uint32
    )
    data = np.full((len(seqs), seq_len), pad_id, dtype=dtype)
    segments = []
    for s, b in enumerate(perm):
        start = 0
        for doc, off, n in sorted(seqs[b]):
            data[s, start : start + n] = tokens[doc][off : off + n]
            segments.append((s, start, n, doc, off))
            start += n
    seg = np.array(segments, dtype=np.int64).reshape(-1, 5)
    return data, seg
