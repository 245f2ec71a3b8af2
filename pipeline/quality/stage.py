"""`msm quality`: filter documents, count every drop by reason, apply the token budget.

The budget (`quality.max_tokens`, counted with the experiment's tokenizer) is reached by a
deterministic subsample: documents ordered by a hash of (seed, id), kept until the budget is full.
A spec below budget keeps everything and reports the shortfall.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer

from pipeline.config import QualityParams, load_params, to_dict
from pipeline.io import MANIFEST, atomic_dir, write_json
from pipeline.quality.filters import Context, first_reason
from pipeline.record import partition, read_documents, write_documents
from pipeline.spec.parse import load_spec
from pipeline.tokenizer import load_tokenizer

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--spec", type=Path, required=True, help="the spec the documents discuss")
    p.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json")
    p.add_argument("--input", type=Path, required=True, help="folder with documents.parquet")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    spec = load_spec(args.spec)
    tok = load_tokenizer(args.tokenizer, params.model.tokenizer).tokenizer
    stats = quality(
        args.input / "documents.parquet",
        args.out,
        params.quality,
        params.seed,
        Context(model_name=spec.model_name),
        tok,
    )
    write_json(args.stats, stats)


def quality(
    src: Path, out: Path, qp: QualityParams, seed: int, ctx: Context, tok: Tokenizer
) -> dict:
    table = read_documents(src)
    texts = table.column("text").to_pylist()
    ids = table.column("id").to_pylist()
    reasons: dict[int, str] = {}
    for i, text in enumerate(texts):
        reason = first_reason(text, qp, ctx)
        if reason:
            reasons[i] = reason
    passing = [i for i in range(len(texts)) if i not in reasons]
    # counted exactly as `pack` counts them: no special tokens (pack adds one EOS per document)
    batch = [texts[i] for i in passing]
    counts = [len(e.ids) for e in tok.encode_batch_fast(batch, add_special_tokens=False)]
    tokens = dict(zip(passing, counts, strict=True))
    total = sum(counts)
    shortfall = 0
    if qp.max_tokens:
        if total > qp.max_tokens:
            order = sorted(
                passing, key=lambda i: hashlib.sha256(f"{seed}|{ids[i]}".encode()).digest()
            )
            budget = qp.max_tokens
            for i in order:
                if tokens[i] <= budget:
                    budget -= tokens[i]
                else:
                    reasons[i] = "token_budget"
        else:
            shortfall = qp.max_tokens - total
            log.warning("quality: %d tokens, %d below the budget; keeping all", total, shortfall)
    kept, rejects = partition(table, reasons)
    stats = {
        "documents_in": len(texts),
        "documents_out": kept.num_rows,
        "dropped": dict(sorted(Counter(reasons.values()).items())),
        "tokens_out": sum(n for i, n in tokens.items() if i not in reasons),
        "token_budget": qp.max_tokens,
        "token_shortfall": shortfall,
    }
    if not texts:
        log.warning("quality: %s holds no documents; writing empty outputs", src)
    with atomic_dir(out) as tmp:
        write_documents(kept, tmp / "documents.parquet")
        write_documents(rejects, tmp / "rejects.parquet")
        write_json(tmp / MANIFEST, {"params": to_dict(qp), "seed": seed, **stats})
    log.info("quality: %d -> %d documents (%s)", len(texts), kept.num_rows, stats["dropped"])
    return stats
