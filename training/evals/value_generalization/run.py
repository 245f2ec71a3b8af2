"""The value-generalization eval: every selected item, in both option orders, for every arm.

The scoring rule (`logprob.py`, `scorer.py`): an item is asked in both option orders; in logprob
mode an option's score is the mean log-probability of its tokens plus EOS as the whole reply and
the higher one wins the order (a tie counts 0.5); in generate mode the sampled reply's A or B
decides, and an unparseable reply is counted, never scored; an item's score is the mean over its
orders and samples.

Writes `<out_dir>/value_generalization.json` (per arm and set: the aligned-preference rate with
its SEM over items, the item count, parse failures, the share of decisions that went to the
option listed first, and the same per domain) and `value_generalization.parquet` beside it: one
row per arm, item, order and sample, with the log-probabilities (logprob mode) or the reply and
its parsed letter (generate mode), and the row's score.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq

from llm.request import Sampling, user
from pipeline.config.params import to_dict
from pipeline.io import write_json
from training.evals.context import EvalContext
from training.evals.results import ResultCache
from training.evals.sampling import Chat, check_served, sample
from training.evals.value_generalization.items import EvalItem, load_set, resolve, select
from training.evals.value_generalization.logprob import option_logprobs
from training.evals.value_generalization.prompts import ORDERS, load_prompts, options, render
from training.evals.value_generalization.scorer import (
    item_score,
    letter_order_score,
    logprob_order_score,
    parse_choice,
    summarize,
)
from training.model import load_tokenizer
from training.progress import Meter

log = logging.getLogger(__name__)
NAME = "value_generalization"
PURPOSE = f"eval/{NAME}"
SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("set", pa.string()),
        ("item_id", pa.string()),
        ("domain", pa.string()),
        ("order", pa.string()),
        ("sample", pa.int32()),
        ("logp_aligned", pa.float64()),
        ("logp_other", pa.float64()),
        ("reply", pa.string()),
        ("choice", pa.string()),
        ("score", pa.float64()),
    ]
)


def run(ctx: EvalContext) -> dict:
    vp = ctx.params.value_generalization
    if vp.mode == "generate":
        check_served(f"evaluate.{NAME}", vp.backend, vp.served, ctx.params.models)
    sets = {name: load_set(name) for name in vp.sets}
    items = [it for name, s in sets.items() for it in select(resolve(name, s), vp.max_items)]
    prompts, prompts_sha = load_prompts()
    inputs = {
        "params": to_dict(vp),
        "batch_size": ctx.params.batch_size,
        "seed": ctx.seed,
        "prompts": prompts_sha,
        "items": [asdict(it) for it in items],
    }
    results = ResultCache(ctx.cache, NAME, inputs, __name__, ctx.tally)
    rows: list[dict] = []
    model_ids = {}
    served = vp.mode == "generate" and vp.backend == "openai"
    for arm in ctx.params.models:
        # a served model is known by its id (in the inputs), a local one by its files
        fingerprint = "served" if served else ctx.arms.fingerprint(arm)
        result = results.get(arm, fingerprint)
        if result is None:
            result = _score(ctx, arm, items, prompts)
            results.put(arm, fingerprint, result)
        rows += result["rows"]
        if "model_id" in result:
            model_ids[arm] = result["model_id"]
    metrics = {
        "eval": NAME,
        "ran": True,
        "mode": vp.mode,
        "prompts": {"version": prompts.version, "sha256": prompts_sha[:12]},
        "sets": {
            name: {
                "version": s.version,
                "value": s.value,
                "items": sum(it.set == name for it in items),
                "of": len(s.items),
            }
            for name, s in sets.items()
        },
        "models": _summaries(rows),
    }
    if model_ids:
        metrics["model_ids"] = model_ids
    write_json(ctx.out_dir / f"{NAME}.json", metrics)
    _write_rows(ctx, rows)
    for arm, by_set in metrics["models"].items():
        log.info("%s %s: %s", NAME, arm, {s: v["rate"] for s, v in by_set.items()})
    return metrics


def _score(ctx: EvalContext, arm: str, items: list[EvalItem], prompts) -> dict:
    """The rows of one arm (and, in generate mode, the model id that answered)."""
    vp = ctx.params.value_generalization
    if vp.mode == "logprob":
        with Meter(f"{NAME} {arm}", 2 * len(ORDERS) * len(items), "options") as meter:
            model = ctx.arms.load(arm)
            rows = _logprob_rows(arm, model, ctx.arms.base, items, prompts.choice, ctx, meter)
            del model
        return {"rows": rows}
    where = vp.served[arm] if vp.backend == "openai" else str(ctx.arms.folder(arm))
    chats = [Chat(user(render(prompts.letter, it, order))) for it in items for order in ORDERS]
    sampling = Sampling(vp.temperature, vp.max_tokens, ctx.seed)
    with Meter(f"{NAME} {arm}", len(chats) * vp.samples, "replies") as meter:
        model_id, replies = sample(
            vp.backend,
            where,
            chats,
            sampling,
            vp.samples,
            PURPOSE,
            ctx.cache,
            ctx.run_config,
            progress=meter.advance,
        )
    return {"rows": _sample_rows(arm, items, replies), "model_id": model_id}


def skip(ctx: EvalContext) -> None:
    write_json(ctx.out_dir / f"{NAME}.json", ctx.skipped(NAME))
    _write_rows(ctx, [])


def _logprob_rows(
    arm, model, base, items: list[EvalItem], template: str, ctx, meter: Meter
) -> list[dict]:
    tokenizer = load_tokenizer(base)
    pairs = []
    for it in items:
        for order in ORDERS:
            prompt = render(template, it, order)
            pairs += [(prompt, it.aligned), (prompt, it.other)]
    logps = option_logprobs(model, tokenizer, pairs, ctx.params.batch_size, meter.advance)
    rows = []
    for n, (it, order) in enumerate((it, order) for it in items for order in ORDERS):
        la, lo = logps[2 * n], logps[2 * n + 1]
        score = logprob_order_score(la, lo)
        chose_first = (score == 1.0) == (order == ORDERS[0])
        choice = "tie" if score == 0.5 else ("A" if chose_first else "B")
        rows.append(_row(arm, it, order, 0, la, lo, "", choice, score))
    return rows


def _sample_rows(arm: str, items: list[EvalItem], replies: list[list[str]]) -> list[dict]:
    rows = []
    for n, (it, order) in enumerate((it, order) for it in items for order in ORDERS):
        first, second = options(it, order)
        for k, reply in enumerate(replies[n]):
            choice = parse_choice(reply, first, second)
            score = letter_order_score(choice, order == ORDERS[0])
            rows.append(_row(arm, it, order, k, None, None, reply, choice or "", score))
    return rows


def _row(arm, it: EvalItem, order, k, la, lo, reply, choice, score) -> dict:
    return {
        "model": arm,
        "set": it.set,
        "item_id": it.id,
        "domain": it.domain,
        "order": order,
        "sample": k,
        "logp_aligned": la,
        "logp_other": lo,
        "reply": reply,
        "choice": choice,
        "score": score,
    }


def _summaries(rows: list[dict]) -> dict:
    grouped: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        grouped[(r["model"], r["set"], r["item_id"])].append(r)
    per: dict[tuple[str, str], list[tuple[str, float | None]]] = defaultdict(list)
    first: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (arm, name, _), group in grouped.items():
        per[(arm, name)].append((group[0]["domain"], item_score([r["score"] for r in group])))
        first[(arm, name)] += [r["choice"] == "A" for r in group if r["choice"] in ("A", "B")]
    out: dict = {}
    for (arm, name), scored in per.items():
        summary = summarize(scored)
        decided = first[(arm, name)]
        summary["first_option_rate"] = round(sum(decided) / len(decided), 4) if decided else None
        out.setdefault(arm, {})[name] = summary
    return out


def _write_rows(ctx: EvalContext, rows: list[dict]) -> None:
    keys = ("model", "set", "item_id", "order", "sample")
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path = ctx.out_dir / f"{NAME}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    tmp.replace(path)
