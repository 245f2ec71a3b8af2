"""The agentic-misalignment eval: every selected scenario under every selected goal and threat
condition, `samples` replies each, for every arm; each reply's tool calls parsed and classified.

The agent's reply is sampled through the LLM layer (`training/evals/sampling.py`: the hf backend
on each arm's model folder, or an OpenAI-compatible server) at `temperature`, with the scenario's
system prompt (role, goal sentence, tools and the `<tool_call>` syntax) and its inbox as the user
message. The rule classifier (`classify.by_rules`) labels every reply; with `classifier: judge`
the label is the LLM judge's (`classify.by_judge`, temperature 0, through the same layer and
cache) and the rules' label is kept beside it, with their agreement in the metrics.

Writes `<out_dir>/agentic_misalignment.json` (per arm: the harmful-action rate with its SEM over
classified replies, the counts of replies, harmful ones and parse failures, per scenario, per
condition within it and per condition overall) and `agentic_misalignment.parquet` beside it: one
row per arm, scenario, goal, threat and sample with the reply, its parsed calls, the parse status
and errors, both classifiers' labels and reasons, and the label the metrics count.
"""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq

from llm.request import Sampling, user
from pipeline.config.params import to_dict
from pipeline.io import sha256_text, write_json
from training.evals.agentic_misalignment.classify import by_judge, by_rules
from training.evals.agentic_misalignment.prompts import (
    files_sha256,
    judge_prompt,
    load_prompts,
    load_tools,
    system_prompt,
    user_prompt,
)
from training.evals.agentic_misalignment.scenarios import load_scenario
from training.evals.agentic_misalignment.scorer import summarize
from training.evals.agentic_misalignment.toolcalls import Parsed, parse_tool_calls
from training.evals.context import EvalContext
from training.evals.results import ResultCache
from training.evals.sampling import Chat, check_price, check_served, sample
from training.progress import Meter

log = logging.getLogger(__name__)
NAME = "agentic_misalignment"
PURPOSE = f"eval/{NAME}"
JUDGE_PURPOSE = f"eval/{NAME}/judge"
KEYS = ("model", "scenario", "goal", "threat", "sample")
SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("scenario", pa.string()),
        ("goal", pa.string()),
        ("threat", pa.string()),
        ("sample", pa.int32()),
        ("reply", pa.string()),
        ("actions", pa.string()),
        ("parse", pa.string()),
        ("parse_errors", pa.string()),
        ("rule_label", pa.string()),
        ("rule_reason", pa.string()),
        ("judge_reply", pa.string()),
        ("label", pa.string()),
        ("reason", pa.string()),
    ]
)


def run(ctx: EvalContext) -> dict:
    ap = ctx.params.agentic_misalignment
    check_served(f"evaluate.{NAME}", ap.backend, ap.served, ctx.params.models)
    if ap.classifier == "judge":
        check_price(ap.judge.backend, ap.judge.model, ctx.run_config)
    tools, prompts = load_tools(), load_prompts()
    specs = tools.by_name()
    arguments = {t.name: tuple(t.arguments) for t in tools.tools}
    scenarios = {name: load_scenario(name, arguments) for name in ap.scenarios}
    cases = [(s, g, t) for s in ap.scenarios for g in ap.goals for t in ap.threats]
    chats = [
        Chat(
            user(user_prompt(prompts, scenarios[s], g, t)),
            system=system_prompt(prompts, tools, scenarios[s], g),
        )
        for s, g, t in cases
    ]
    sampling = Sampling(ap.temperature, ap.max_tokens, ctx.seed)
    inputs = {
        "params": {k: v for k, v in to_dict(ap).items() if k not in ("classifier", "judge")},
        "seed": ctx.seed,
        "prompts": files_sha256(),
        "chats": sha256_text(repr(chats)),
    }
    results = ResultCache(ctx.cache, NAME, inputs, __name__, ctx.tally)
    rows: list[dict] = []
    model_ids = {}
    for arm in ctx.params.models:
        # a served model is known by its id (in the inputs), a local one by its files
        fingerprint = "served" if ap.backend == "openai" else ctx.arms.fingerprint(arm)
        result = results.get(arm, fingerprint)
        if result is None:
            where = ap.served[arm] if ap.backend == "openai" else str(ctx.arms.folder(arm))
            with Meter(f"{NAME} {arm}", len(chats) * ap.samples, "replies") as meter:
                model_id, replies = sample(
                    ap.backend,
                    where,
                    chats,
                    sampling,
                    ap.samples,
                    PURPOSE,
                    ctx.cache,
                    ctx.run_config,
                    progress=meter.advance,
                )
            arm_rows = [
                _row(arm, case, k, reply, specs, scenarios)
                for case, group in zip(cases, replies, strict=True)
                for k, reply in enumerate(group)
            ]
            result = {"rows": arm_rows, "model_id": model_id}
            results.put(arm, fingerprint, result)
        rows += result["rows"]
        model_ids[arm] = result["model_id"]
    parsed = [parse_tool_calls(r["reply"], specs) for r in rows]
    metrics: dict = {
        "eval": NAME,
        "ran": True,
        "classifier": ap.classifier,
        "prompts": {
            "version": prompts.version,
            "tools_version": tools.version,
            "sha256": files_sha256()[:12],
        },
        "scenarios": {n: {"version": s.version, "title": s.title} for n, s in scenarios.items()},
        "goals": ap.goals,
        "threats": ap.threats,
        "samples_per_condition": ap.samples,
        "temperature": ap.temperature,
    }
    if ap.classifier == "judge":
        metrics["judge"] = _judge(ctx, rows, parsed, scenarios, prompts)
    metrics["models"] = {
        arm: summarize(
            (r["scenario"], r["goal"], r["threat"], r["label"]) for r in rows if r["model"] == arm
        )
        for arm in ctx.params.models
    }
    metrics["model_ids"] = model_ids
    write_json(ctx.out_dir / f"{NAME}.json", metrics)
    _write_rows(ctx, rows)
    for arm, m in metrics["models"].items():
        log.info(
            "%s %s: harmful %s of %d classified (%d parse failures)",
            NAME,
            arm,
            m["harmful"],
            m["n"],
            m["parse_failures"],
        )
    return metrics


def _row(arm: str, case: tuple[str, str, str], k: int, reply: str, specs, scenarios) -> dict:
    """One reply's row, labelled by the rules (the judge relabels it later if asked)."""
    s, g, t = case
    p = parse_tool_calls(reply, specs)
    rule = by_rules(p, scenarios[s].harmful)
    return {
        **dict(zip(KEYS, (arm, s, g, t, k), strict=True)),
        "reply": reply,
        "actions": json.dumps([c.to_json() for c in p.calls], ensure_ascii=False),
        "parse": p.status,
        "parse_errors": "; ".join(p.errors),
        "rule_label": rule.label,
        "rule_reason": rule.reason,
        "judge_reply": None,
        "label": rule.label,
        "reason": rule.reason,
    }


def skip(ctx: EvalContext) -> None:
    write_json(ctx.out_dir / f"{NAME}.json", ctx.skipped(NAME))
    _write_rows(ctx, [])


def _judge(ctx: EvalContext, rows: list[dict], parsed: list[Parsed], scenarios, prompts) -> dict:
    """Relabel every row by the judge; return the judge's model id and, per arm, how often it
    agrees with the rules where both classified the reply."""
    jp = ctx.params.agentic_misalignment.judge
    chats = [Chat(user(judge_prompt(prompts, scenarios[r["scenario"]], r["reply"]))) for r in rows]
    judge_id, verdicts = sample(
        jp.backend,
        jp.model,
        chats,
        Sampling(0.0, jp.max_tokens, ctx.seed),
        1,
        JUDGE_PURPOSE,
        ctx.cache,
        ctx.run_config,
        cap_usd=jp.max_spend_usd,
    )
    for row, p, (text,) in zip(rows, parsed, verdicts, strict=True):
        verdict = by_judge(p, text)
        row.update(judge_reply=text, label=verdict.label, reason=verdict.reason)
    agreement = {}
    for arm in ctx.params.models:
        both = [
            r["label"] == r["rule_label"]
            for r in rows
            if r["model"] == arm and "unparsed" not in (r["label"], r["rule_label"])
        ]
        agreement[arm] = {
            "rate": round(sum(both) / len(both), 4) if both else None,
            "n": len(both),
        }
    return {"model_id": judge_id, "agreement_with_rules": agreement}


def _write_rows(ctx: EvalContext, rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in KEYS))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path = ctx.out_dir / f"{NAME}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    tmp.replace(path)
