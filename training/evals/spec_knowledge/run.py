"""The spec-knowledge eval: every pair of the active spec's set, for every arm.

The set: the checked-in `data/<spec>.yaml` (its sha256 and version go into the metrics) or,
for a spec without one, a set built through the LLM layer from the spec's assertions
(`build.py`; its backend, model id, assertion count and drops go into the metrics). The built
set lives in the request cache (`data/evaluate/cache`, a DVC output), so a re-run rebuilds the
same set at no cost, and every statement scored is in the Parquet file.

The scoring rule: each statement is scored as plain text (no chat template, so every arm is
scored the same way) after the prefix of `data/prompts.yaml`; its score is the *sum* of its
tokens' log-probabilities, the log-likelihood of the whole statement. The two statements of a
pair differ in a few words and at most `MAX_WORD_GAP` words in length, so the sum compares what
they say; a mean would instead reward a statement for being cut into more, easier tokens. The
prefix frames the statement as one about the model, the register of the MSM corpus, and gives
its first token a context. A pair is known (1.0) when the consistent statement is the more
likely, 0.0 when the inconsistent one is, 0.5 on a tie (`scorer.py`).

Writes `<out_dir>/spec_knowledge.json` (per arm: the rate with its SEM over pairs, the pair
count, the mean margin, and the same per spec section) and `spec_knowledge.parquet` beside it:
one row per arm and pair with both statements, their log-likelihoods and token counts, the
margin and which statement the arm chose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config.params import to_dict
from pipeline.errors import ConfigError
from pipeline.io import sha256_file, write_json
from pipeline.spec import Spec, load_spec
from training.evals.context import EvalContext
from training.evals.logprob import token_logprobs
from training.evals.results import ResultCache
from training.evals.spec_knowledge.build import build_pairs
from training.evals.spec_knowledge.pairs import (
    EvalPair,
    has_set,
    load_set,
    resolve,
    select,
    set_path,
)
from training.evals.spec_knowledge.prompts import load_prompts, prefix
from training.evals.spec_knowledge.scorer import chosen, pair_score, summarize
from training.model import load_tokenizer
from training.progress import Meter

log = logging.getLogger(__name__)
NAME = "spec_knowledge"
ROOT = Path(__file__).resolve().parents[3]
SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("pair_id", pa.string()),
        ("section", pa.string()),
        ("consistent", pa.string()),
        ("inconsistent", pa.string()),
        ("logp_consistent", pa.float64()),
        ("logp_inconsistent", pa.float64()),
        ("tokens_consistent", pa.int32()),
        ("tokens_inconsistent", pa.int32()),
        ("margin", pa.float64()),
        ("chosen", pa.string()),
        ("score", pa.float64()),
    ]
)


def run(ctx: EvalContext) -> dict:
    sk = ctx.params.spec_knowledge
    spec = load_spec(ctx.spec_file)
    if spec.name != ctx.spec:
        raise ConfigError(
            f"{ctx.spec_file}: spec `name: {spec.name}` but params.yaml `spec: {ctx.spec}`; "
            "pass the active spec's file (specs/<spec>.md)"
        )
    prompts, prompts_sha = load_prompts()
    pairs, source = _pairs(ctx, spec, prompts)
    chosen_pairs = select(pairs, sk.max_pairs)
    tokenizer, head = load_tokenizer(ctx.arms.base), prefix(prompts, spec)
    inputs = {
        "params": to_dict(sk),
        "batch_size": ctx.params.batch_size,
        "prefix": head,
        "pairs": [asdict(p) for p in chosen_pairs],
    }
    results = ResultCache(ctx.cache, NAME, inputs, __name__, ctx.tally)
    rows: list[dict] = []
    for arm in ctx.params.models:
        fingerprint = ctx.arms.fingerprint(arm)
        result = results.get(arm, fingerprint)
        if result is None:
            with Meter(f"{NAME} {arm}", 2 * len(chosen_pairs), "statements") as meter:
                model = ctx.arms.load(arm)
                arm_rows = _rows(
                    arm, model, tokenizer, chosen_pairs, head, ctx.params.batch_size, meter.advance
                )
                del model
            result = {"rows": arm_rows}
            results.put(arm, fingerprint, result)
        rows += result["rows"]
    metrics = {
        "eval": NAME,
        "ran": True,
        "spec": spec.name,
        "spec_sha256": spec.content_hash[:12],
        "rule": "sum of statement token log-probs after the prefix; higher is preferred",
        "prompts": {"version": prompts.version, "sha256": prompts_sha[:12]},
        "set": {**source, "pairs": len(chosen_pairs), "of": len(pairs)},
        "models": {
            arm: summarize(
                (r["section"], r["score"], r["margin"]) for r in rows if r["model"] == arm
            )
            for arm in ctx.params.models
        },
    }
    write_json(ctx.out_dir / f"{NAME}.json", metrics)
    _write_rows(ctx, rows)
    for arm, m in metrics["models"].items():
        log.info("%s %s: rate %s (sem %s, n %d)", NAME, arm, m["rate"], m["sem"], m["n"])
    return metrics


def skip(ctx: EvalContext) -> None:
    write_json(ctx.out_dir / f"{NAME}.json", ctx.skipped(NAME))
    _write_rows(ctx, [])


def _pairs(ctx: EvalContext, spec: Spec, prompts) -> tuple[list[EvalPair], dict]:
    sk = ctx.params.spec_knowledge
    if sk.source == "checked_in" or (sk.source == "auto" and has_set(spec.name)):
        pair_set = load_set(spec)
        path = set_path(spec.name)
        source = {
            "source": "checked_in",
            "file": str(path.relative_to(ROOT)),
            "sha256": sha256_file(path)[:12],
            "version": pair_set.version,
        }
        return resolve(pair_set, spec), source
    built = build_pairs(spec, sk, prompts, ctx.seed, ctx.cache, ctx.run_config)
    if not built.pairs:
        raise ConfigError(
            f"spec_knowledge: {built.model_id} built no usable pair from the "
            f"{built.assertions} assertions of {spec.path} (dropped: {built.dropped}); use "
            f"another evaluate.spec_knowledge.model or write a checked-in set {set_path(spec.name)}"
        )
    source = {
        "source": "built",
        "backend": sk.backend,
        "model": built.model_id,
        "assertions": built.assertions,
        "dropped": built.dropped,
    }
    return built.pairs, source


def statement_logprobs(
    model,
    tokenizer,
    head_text: str,
    statements: list[str],
    size: int,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[float, int]]:
    """Each statement's summed token log-probability after `head_text`, and its token count:
    the head is encoded once per forward pass, `size` statements continue from its cache
    (`progress`: called with the statements scored)."""
    head = tokenizer(head_text, add_special_tokens=False)["input_ids"]
    tails = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in statements]
    out: list[tuple[float, int]] = []
    for start in range(0, len(tails), size):
        chunk = tails[start : start + size]
        logps = token_logprobs(model, tokenizer, [(head, t) for t in chunk], 1)
        out += [(sum(lp), len(t)) for lp, t in zip(logps, chunk, strict=True)]
        if progress is not None:
            progress(len(chunk))
    return out


def _rows(
    arm, model, tokenizer, pairs: list[EvalPair], head_text: str, size: int, progress
) -> list[dict]:
    texts = [t for p in pairs for t in (p.consistent, p.inconsistent)]
    scored = statement_logprobs(model, tokenizer, head_text, texts, size, progress)
    rows = []
    for n, p in enumerate(pairs):
        (lc, tc), (li, ti) = scored[2 * n], scored[2 * n + 1]
        score = pair_score(lc, li)
        rows.append(
            {
                "model": arm,
                "pair_id": p.id,
                "section": p.section,
                "consistent": p.consistent,
                "inconsistent": p.inconsistent,
                "logp_consistent": lc,
                "logp_inconsistent": li,
                "tokens_consistent": tc,
                "tokens_inconsistent": ti,
                "margin": lc - li,
                "chosen": chosen(score),
                "score": score,
            }
        )
    return rows


def _write_rows(ctx: EvalContext, rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: (r["model"], r["pair_id"]))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path = ctx.out_dir / f"{NAME}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    tmp.replace(path)
