"""Tokenize-and-pack throughput of `msm pack` next to raw `tokenizers` encode_batch, one core.

    RAYON_NUM_THREADS=1 taskset -c 0 python bench/pack_throughput.py --repeat 20
    RAYON_NUM_THREADS=1 taskset -c 0 python bench/pack_throughput.py --corpus real

`--corpus corpora` (the default) reads the documents of every built corpus
(`corpora/*/quality/documents.parquet`, so run `make repro` first) and repeats them --repeat
times; `--corpus real` takes the real-prose corpus (`bench/real_prose.py`: 20,000 documents of
300-500 words of the installed packages' docstrings and pinned sdists' documentation, built once
into --real-dir) and
`--corpus synthetic` --n synthetic documents of ~400 words (`fakes.corpus.labelled_corpus`).
Then it times on the same data in the same run:
1. `tokenizers` `encode_batch` with the base tokenizer (the peer figure), and `encode_batch_fast`
   (no offsets: what `pack` calls, so the true ceiling);
2. `pipeline.pack.stage.pack` (tokenize, pack by the policy in `pipeline.pack.packing`: best-fit
   decreasing, then the loosest sequences re-packed densely; write shards and manifest).
Times are CPU seconds of this process (`time.process_time`: steady when other work shares the
machine; one thread with RAYON_NUM_THREADS=1). Prints tokens/s of each, the ratios, the
padding fraction of the packed shards and how many documents the policy split.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config.params import load_params
from pipeline.pack.stage import pack
from pipeline.record import SCHEMA, write_documents
from pipeline.tokenizer import load_tokenizer


def corpus_texts(corpus: str, n: int, real_dir: Path) -> list[str]:
    if corpus == "real":
        sys.path.insert(0, str(Path(__file__).parent))
        from real_prose import DEFAULT_N, load_or_build

        return load_or_build(real_dir, n=DEFAULT_N).texts
    from fakes.corpus import labelled_corpus

    return labelled_corpus(n, seed=0, measure=False).texts


def documents_table(texts: list[str]) -> pa.Table:
    """Documents of the record schema holding `texts` (empty metadata, ids d00000000...)."""
    n = len(texts)
    columns = {name: pa.array([""] * n) for name in SCHEMA.names}
    columns.update(id=pa.array([f"d{i:08d}" for i in range(n)]), text=pa.array(texts))
    columns.update(assertion_ids=pa.array([[]] * n, pa.list_(pa.string())))
    for name in ("seed", "input_tokens", "output_tokens"):
        columns[name] = pa.array([0] * n, pa.int64())
    return pa.table(columns).cast(SCHEMA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path("corpora"))
    ap.add_argument("--tokenizer", type=Path, default=Path("models/base"))
    ap.add_argument("--repeat", type=int, default=20, help="copies of the corpus in the workload")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--corpus", choices=("corpora", "real", "synthetic"), default="corpora")
    ap.add_argument("--n", type=int, default=10_000, help="synthetic documents")
    ap.add_argument(
        "--real-dir", type=Path, default=Path(".msm/bench/real_prose"), help="real-prose cache"
    )
    args = ap.parse_args()

    if args.corpus == "corpora":
        paths = sorted(args.corpora.glob("*/quality/documents.parquet"))
        if not paths:
            raise SystemExit(f"no documents under {args.corpora}/*/quality/; run `make repro`")
        base = pa.concat_tables([pq.read_table(p) for p in paths]).select(SCHEMA.names)
        parts = []
        for r in range(args.repeat):  # unique ids per copy; same texts
            ids = pa.array([f"{i}#{r}" for i in base.column("id").to_pylist()])
            parts.append(base.set_column(0, "id", ids))
        table = pa.concat_tables(parts)
    else:
        table = documents_table(corpus_texts(args.corpus, args.n, args.real_dir))
    texts = table.column("text").to_pylist()
    tok = load_tokenizer(args.tokenizer).tokenizer

    t0 = time.process_time()
    n_tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
    raw = time.process_time() - t0
    t0 = time.process_time()
    tok.encode_batch_fast(texts, add_special_tokens=False)
    raw_fast = time.process_time() - t0

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "documents.parquet"
        write_documents(table, src)
        t0 = time.process_time()
        manifest = pack(
            src,
            args.tokenizer,
            Path(tmp) / "shards",
            replace(load_params(specs_dir=None).pack, seq_len=args.seq_len, val_fraction=0.0),
            0,
            "bench",
        )
        ours = time.process_time() - t0
    train = manifest["splits"]["train"]
    print(
        f"corpus: {args.corpus}   documents: {len(texts):,}   tokens: {n_tokens:,}   "
        f"seq_len: {args.seq_len}   "
        f"RAYON_NUM_THREADS={os.environ['RAYON_NUM_THREADS']}"
    )
    print(f"{'tool':<34}{'tokens/s':>14}")
    print(f"{'tokenizers encode_batch (peer)':<34}{n_tokens / raw:>14,.0f}")
    print(f"{'tokenizers encode_batch_fast':<34}{n_tokens / raw_fast:>14,.0f}")
    print(f"{'msm pack (tokenize+pack+write)':<34}{n_tokens / ours:>14,.0f}")
    print(f"ratio msm pack / encode_batch: {raw / ours:.2f}")
    print(
        f"ratio msm pack / encode_batch_fast (no offsets, what pack calls): {raw_fast / ours:.2f}"
    )
    print(
        f"padding fraction: {train['padding_fraction']:.4f}   documents split: "
        f"{train['continued_documents']:,} of {train['documents']:,} "
        f"({train['continuation_pieces']:,} continuation pieces)"
    )


if __name__ == "__main__":
    main()
