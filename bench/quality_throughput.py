"""Quality-filter throughput: `msm quality`'s filters next to datatrove's Gopher filters, one core.

    pip install -e '.[bench]'   # spacy, which datatrove's English word splitter needs
    python bench/quality_throughput.py --repeat 20

Same documents for both (the built corpora, `corpora/*/quality/documents.parquet`, repeated; run
`make repro` first). Ours: every filter of `pipeline.quality.filters` (Gopher-style length, word
shape, stop words, line and 2..10-gram repetition, plus the synthetic-artifact filters).
Peer: datatrove `GopherQualityFilter` + `GopherRepetitionFilter` with default settings, timed on
a subsample (it is ~100x slower). Prints docs/s, the ratio, and how often the two agree on
keep/drop for the subsample.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import QualityParams
from pipeline.quality.filters import Context, first_reason


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path("corpora"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--peer-docs", type=int, default=300, help="subsample for datatrove")
    args = ap.parse_args()
    paths = sorted(args.corpora.glob("*/quality/documents.parquet"))
    if not paths:
        raise SystemExit(f"no documents under {args.corpora}/*/quality/; run `make repro` first")
    texts = pa.concat_tables([pq.read_table(p, columns=["text"]) for p in paths])
    texts = texts.column("text").to_pylist() * args.repeat
    qp, ctx = QualityParams(), Context(model_name="Claude")

    t0 = time.perf_counter()
    ours = [first_reason(t, qp, ctx) for t in texts]
    ours_s = time.perf_counter() - t0
    print(f"documents: {len(texts):,} (~{sum(len(t.split()) for t in texts) // len(texts)} words)")
    print(f"{'tool':<46}{'docs':>8}{'docs/s':>10}")
    print(f"{'msm quality filters (all)':<46}{len(texts):>8,}{len(texts) / ours_s:>10,.0f}")
    try:
        from datatrove.data import Document
        from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

        quality, repetition = GopherQualityFilter(), GopherRepetitionFilter()
        sub = texts[: args.peer_docs]
        t0 = time.perf_counter()
        peer = []
        for i, t in enumerate(sub):
            doc = Document(text=t, id=str(i))
            q, r = quality.filter(doc), repetition.filter(doc)
            peer.append((q is True or q == (True,)) and (r is True or r == (True,)))
        peer_s = time.perf_counter() - t0
    except ImportError as err:
        print(f"datatrove Gopher filters skipped: {err}")
        return
    rate = len(sub) / peer_s
    print(f"{'datatrove GopherQuality+GopherRepetition':<46}{len(sub):>8,}{rate:>10,.0f}")
    print(f"ratio ours / datatrove: {len(texts) / ours_s / rate:.1f}x")
    agree = sum((ours[i] is None) == peer[i] for i in range(len(sub))) / len(sub)
    print(f"keep/drop agreement on the subsample: {agree:.1%} (ours has more checks)")


if __name__ == "__main__":
    main()
