"""`msm quality`: filter documents, count every drop by reason, apply the token budget.

The budget (`quality.max_tokens`, counted with the experiment's tokenizer) is reached by a
deterministic subsample: documents ordered by a hash of (seed, id), kept until the budget is full.
A spec below budget keeps everything and reports the shortfall. Without a budget
(`max_tokens: 0`) no token is counted here (`tokens_out` is null): `pack` counts them.

The filters and token counts run as a datatrove step per shard (`pipeline.quality.steps`) on the
executor of `run.yaml` `executor:` (local, Ray or Slurm), in a work folder keyed by the input,
params, tokenizer and code (`pipeline.execution.workdir`); this command then applies the budget
and streams the input into the outputs, manifest last. The outputs are the same bytes whatever
the executor, the number of tasks or workers.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer

from pipeline.config.params import QualityParams, load_params, to_dict
from pipeline.deps import closure
from pipeline.execution.parquet import check_documents, read_column, write_partition
from pipeline.execution.run import run_step
from pipeline.execution.settings import ExecutorSettings, load_executor
from pipeline.execution.workdir import work_dir
from pipeline.io import MANIFEST, atomic_dir, sha256_text, write_json, write_text
from pipeline.quality.filters import Context
from pipeline.quality.steps import FilterStep, part_file
from pipeline.spec.parse import load_spec
from pipeline.tokenizer import tokenizer_text

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--spec", type=Path, required=True, help="the spec the documents discuss")
    p.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json")
    p.add_argument("--input", type=Path, required=True, help="folder with documents.parquet")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="executor settings")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    spec = load_spec(args.spec)
    tok = tokenizer_text(args.tokenizer, params.model.tokenizer)
    stats = quality(
        args.input / "documents.parquet",
        args.out,
        params.quality,
        params.seed,
        Context(model_name=spec.model_name),
        tok,
        load_executor(args.run_config),
    )
    write_json(args.stats, stats)


def quality(
    src: Path,
    out: Path,
    qp: QualityParams,
    seed: int,
    ctx: Context,
    tok: Tokenizer | str,
    executor: ExecutorSettings | None = None,
    work_root: Path | None = None,
) -> dict:
    executor = executor or ExecutorSettings()
    rows = check_documents(src)
    tokenizer = tok if isinstance(tok, str) else tok.to_str()  # a Tokenizer, or its JSON
    work = work_dir(
        "quality",
        [src],
        {"quality": to_dict(qp), "model_name": ctx.model_name, "tokenizer": sha256_text(tokenizer)},
        closure(__name__),
        work_root,
    )
    tokenizer_file = work.path / "tokenizer.json"
    write_text(tokenizer_file, tokenizer)  # a path in the step's attributes, not the JSON
    tasks = executor.tasks
    folder = work.step("filter", tasks)
    documents = str(src.resolve())  # tasks may run elsewhere
    step = FilterStep(documents, str(folder), qp, ctx.model_name, str(tokenizer_file))
    run_step("quality filter", [step], tasks, folder, executor)
    parts = pa.concat_tables([pq.ParquetFile(part_file(folder, r)).read() for r in range(tasks)])
    found: list[str | None] = parts.column("reason").to_pylist()
    counts: list[int] = parts.column("tokens").to_pylist()
    del parts

    reasons = {i: r for i, r in enumerate(found) if r is not None}
    passing = [i for i in range(rows) if i not in reasons]
    tokens = {i: counts[i] for i in passing}
    total = sum(tokens.values())
    shortfall = 0
    if qp.max_tokens:
        if total > qp.max_tokens:
            ids = read_column(src, "id").to_pylist()
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
    stats = {
        "documents_in": rows,
        "documents_out": rows - len(reasons),
        "dropped": dict(sorted(Counter(reasons.values()).items())),
        # counted under a budget only (`pipeline.quality.steps`); else `pack` counts them
        "tokens_out": sum(n for i, n in tokens.items() if i not in reasons)
        if qp.max_tokens
        else None,
        "token_budget": qp.max_tokens,
        "token_shortfall": shortfall,
    }
    if not rows:
        log.warning("quality: %s holds no documents; writing empty outputs", src)
    with atomic_dir(out) as tmp:
        write_partition(
            src,
            [reasons.get(i) for i in range(rows)],
            tmp / "documents.parquet",
            tmp / "rejects.parquet",
            rows,
        )
        write_json(tmp / MANIFEST, {"params": to_dict(qp), "seed": seed, **stats})
    work.remove()
    log.info("quality: %d -> %d documents (%s)", rows, stats["documents_out"], stats["dropped"])
    return stats
