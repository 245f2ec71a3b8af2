"""Quality-filter throughput: `msm quality`'s filters next to datatrove's Gopher filters, one core.

    pip install -e '.[bench]'   # spacy, which datatrove's English word splitter needs
    RAYON_NUM_THREADS=1 taskset -c 0 python bench/quality_throughput.py --repeat 20 --n 20000

Three sets of documents, the same for both tools:

- `corpora`: the built corpora (`corpora/*/quality/documents.parquet`, ~180 words, repeated
  --repeat times; run `make repro` first);
- `synthetic`: --n English-like documents of ~--words words from `labelled_corpus` with English
  stop words and the model's name as its most frequent words, so that nearly every document
  passes, and so runs, every filter (the slowest case);
- `real`: the 18,000 original documents (the labelled edited copies left out) of the real-prose
  corpus (`bench/real_prose.py`, built once into --real-dir): 300-500 words of real English
  technical prose (docstrings, manuals, tutorials, release notes). Real prose never names the
  model, so `off_spec` drops every document there; the throughput runs every filter with the
  model's name as a first line of each document (so every filter runs), and the precision table
  runs each filter alone on the documents as they are.

Times are CPU seconds of this process (`time.process_time`, steady when other work shares the
machine; one thread). On the real prose, `msm quality` also runs as a user runs it: a fresh
interpreter per run on a documents file of those texts (`--spec`, whose model is Claude, and the
`--tokenizer` folder of `make repro`), on all of them and on one (its fixed cost); CPU seconds
of the process, start-up and Parquet included.

Precision on real prose: each filter's drop rate on the real documents, every filter on every
document (not only on what earlier filters kept), `off_spec` left out. The corpus leaves out
code, tables, field lists and templated docstrings, so it holds no generation artifacts and
every drop by an artifact filter is a false positive; the Gopher filters' drops are what
Gopher's published thresholds do on technical prose (repeated multi-word terms and links).

Ours: every filter of `pipeline.quality.filters` (Gopher-style length, word shape, stop words,
line and 2..10-gram repetition, plus the synthetic-artifact filters) through `first_reasons`,
as the quality step runs them. Peer: datatrove `GopherQualityFilter` + `GopherRepetitionFilter`
with default settings, timed on a subsample (it is ~100x slower). Prints docs/s, the ratio, and
how often the two agree on keep/drop for the subsample.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa
import pyarrow.parquet as pq

from fakes.corpus import ENGLISH_HEAD, labelled_corpus
from pipeline.config.params import load_params
from pipeline.quality.filters import Context, first_reasons


def peer_keep(texts: list[str]) -> tuple[list[bool], float]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

    quality, repetition = GopherQualityFilter(), GopherRepetitionFilter()
    quality.filter(Document(text="warm up the word splitter", id="0"))
    t0 = time.process_time()
    keep = []
    for i, t in enumerate(texts):
        doc = Document(text=t, id=str(i))
        q, r = quality.filter(doc), repetition.filter(doc)
        keep.append((q is True or q == (True,)) and (r is True or r == (True,)))
    return keep, time.process_time() - t0


def compare(name: str, texts: list[str], peer_docs: int) -> None:
    qp, ctx = load_params(specs_dir=None).quality, Context(model_name="Claude")
    first_reasons(texts[:10], qp, ctx)  # imports and class tables outside the timing
    t0 = time.process_time()
    ours = first_reasons(texts, qp, ctx)
    rate = len(texts) / (time.process_time() - t0)
    words = sum(len(t.split()) for t in texts[:2000]) // min(len(texts), 2000)
    kept = sum(r is None for r in ours) / len(ours)
    print(f"\n{name}: {len(texts):,} documents, ~{words} words, {kept:.1%} kept by ours")
    print(f"{'tool':<46}{'docs':>8}{'docs/s':>10}")
    print(f"{'msm quality filters (all)':<46}{len(texts):>8,}{rate:>10,.0f}")
    sub = texts[:peer_docs]
    try:
        keep, seconds = peer_keep(sub)
    except ImportError as err:
        print(f"datatrove Gopher filters skipped: {err}")
        return
    peer = len(sub) / seconds
    print(f"{'datatrove GopherQuality+GopherRepetition':<46}{len(sub):>8,}{peer:>10,.0f}")
    print(f"ratio ours / datatrove: {rate / peer:.1f}x")
    agree = sum((ours[i] is None) == keep[i] for i in range(len(sub))) / len(sub)
    print(f"keep/drop agreement on the subsample: {agree:.1%} (ours has more checks)")


def process(texts: list[str], spec: Path, tokenizer: Path) -> None:
    """`msm quality` as a user runs it (a fresh interpreter: start-up, Parquet in and out, every
    filter, no token budget), on `texts` and on one document (the fixed cost)."""
    from dedup_throughput import timed_process, write_stage_input

    if not (tokenizer / "tokenizer.json").is_file():
        print(f"msm quality as a process skipped: no {tokenizer}/tokenizer.json (`make repro`)")
        return
    msm = str(Path(sys.executable).with_name("msm"))
    with tempfile.TemporaryDirectory() as tmp:
        for docs in (texts, texts[:1]):
            folder = Path(tmp) / str(len(docs))
            write_stage_input(docs, folder / "in" / "documents.parquet")
            cmd = [msm, "quality", "--spec", str(spec), "--tokenizer", str(tokenizer)]
            cmd += ["--input", str(folder / "in"), "--out", str(folder / "out")]
            seconds = timed_process([*cmd, "--stats", str(folder / "stats.json")], "msm quality")
            name = "msm quality, process" + ("" if len(docs) > 1 else ", 1 document")
            rate = f"{len(docs) / seconds:>10,.0f}" if len(docs) > 1 else f"{'':>10}"
            print(f"{name:<46}{len(docs):>8,}{rate}  (cpu {seconds:.2f} s)")


def precision(texts: list[str]) -> None:
    """Each filter's drop rate on `texts`, every filter on every document."""
    import numpy as np

    from pipeline.quality import filters
    from pipeline.quality.measures import Batch

    qp, ctx = load_params(specs_dir=None).quality, Context(model_name="Claude")
    counts: Counter[str] = Counter()
    for lo in range(0, len(texts), filters.BATCH):
        batch = Batch(texts[lo : lo + filters.BATCH])
        docs = np.arange(len(batch))
        for f in filters.FILTERS:
            if f is not filters.off_spec:
                counts.update(r for r in f.check(batch, docs, qp, ctx) if r)
    print(f"\nreal prose, each filter alone on {len(texts):,} documents (off_spec left out):")
    print(f"{'reason':<26}{'dropped':>9}{'rate':>9}")
    for reason, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        flag = "  above 0.5%" if n / len(texts) > 0.005 else ""
        print(f"{reason:<26}{n:>9,}{n / len(texts):>9.2%}{flag}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path("corpora"))
    ap.add_argument("--repeat", type=int, default=20, help="copies of the built corpora")
    ap.add_argument("--n", type=int, default=20_000, help="synthetic documents")
    ap.add_argument("--words", type=int, default=400, help="words per synthetic document")
    ap.add_argument("--peer-docs", type=int, default=300, help="subsample for datatrove")
    ap.add_argument(
        "--real-dir", type=Path, default=Path(".msm/bench/real_prose"), help="real-prose cache"
    )
    ap.add_argument("--spec", type=Path, default=Path("specs/general.md"), help="names Claude")
    ap.add_argument("--tokenizer", type=Path, default=Path("models/base"), help="for the process")
    args = ap.parse_args()
    paths = sorted(args.corpora.glob("*/quality/documents.parquet"))
    if paths:
        texts = pa.concat_tables([pq.read_table(p, columns=["text"]) for p in paths])
        compare("corpora", texts.column("text").to_pylist() * args.repeat, args.peer_docs)
    else:
        print(f"no documents under {args.corpora}/*/quality/ (run `make repro`): corpora skipped")
    synthetic = labelled_corpus(
        args.n, seed=0, words=args.words, head_words=ENGLISH_HEAD, measure=False
    ).texts
    compare("synthetic", synthetic, args.peer_docs)
    sys.path.insert(0, str(Path(__file__).parent))
    from real_prose import DEFAULT_N, load_or_build

    corpus = load_or_build(args.real_dir, n=DEFAULT_N)
    copies = {b for _, b in corpus.pairs}
    real = [t for i, t in enumerate(corpus.texts) if i not in copies]
    named = ["Claude\n" + t for t in real]
    compare("real (the model's name prepended)", named, args.peer_docs)
    process(named, args.spec, args.tokenizer)
    precision(real)


if __name__ == "__main__":
    main()
