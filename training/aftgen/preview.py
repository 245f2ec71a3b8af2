"""Projected requests, tokens and cost of a spec's AFT build, before any paid call.

Nothing here calls a backend. The first round's requests follow from params: per section one
domains call, domains x kinds question calls, and for every question (questions_per_kind each) a
response and a judge call; near-duplicate removal makes the later levels smaller, and backfill
rounds, retries and top-ups come on top. Input tokens are estimated from the real rendered
prompts at 4 characters per token, output tokens from the constants below. Prompt caching is not
counted, so the input side is an upper bound.
"""

from __future__ import annotations

from llm.pricing import PREVIEW_CHARS_PER_TOKEN as CHARS_PER_TOKEN
from llm.pricing import Level, Projection, projected_costs
from pipeline.config.params import AftSpecParams
from pipeline.config.run import RunConfig
from pipeline.spec.decompose import decompose
from pipeline.spec.parse import Spec
from training.aftgen.prompts import AftPromptBook

DOMAINS_OUTPUT_TOKENS = 150
QUESTION_OUTPUT_TOKENS = 60
"""Per question of a questions call, plus 100 of scratch per call."""
RESPONSE_OUTPUT_TOKENS = 500
"""Reasoning and answer of one response (the cheese AFT set: ~165k tokens for 5k chats without
reasoning; responses with reasoning run to a few hundred tokens)."""
JUDGE_OUTPUT_TOKENS = 80
SAMPLE_QUESTION = "How do you approach this when it comes to meal planning at home this week?"
SAMPLE_RESPONSE = "x" * (RESPONSE_OUTPUT_TOKENS * CHARS_PER_TOKEN)


def preview(spec: Spec, sp: AftSpecParams, seed: int) -> list[Level]:
    sections = decompose(spec)
    book = AftPromptBook(spec, sp, sp.model, seed)
    d, k, q = sp.domains_per_section, len(sp.kinds), sp.questions_per_kind
    acc = Projection(["aft/domains", "aft/questions", "aft/response", "aft/judge"])
    for sec in sections:
        acc.add("aft/domains", 1, book.domains(sec, [], 0), DOMAINS_OUTPUT_TOKENS)
        ask = book.questions(sec, "meal planning", sp.kinds[0], [], 0, 0)
        acc.add("aft/questions", d * k, ask, 100 + QUESTION_OUTPUT_TOKENS * q)
        resp = book.response(sec, SAMPLE_QUESTION, sp.kinds[0], 0)
        acc.add("aft/response", d * k * q, resp, RESPONSE_OUTPUT_TOKENS)
        judge = book.judge(sec, SAMPLE_QUESTION, SAMPLE_RESPONSE, 0)
        acc.add("aft/judge", d * k * q, judge, JUDGE_OUTPUT_TOKENS)
    return acc.levels()


def render(spec: Spec, sp: AftSpecParams, levels: list[Level], run: RunConfig) -> str:
    chats = sum(lv.requests for lv in levels if lv.name == "aft/response")
    lines = [
        f"spec {spec.name}: first round, up to {chats:,} chats before near-duplicate removal "
        "and the judge (backfill rounds, retries and top-ups come on top)",
        f"{'level':<15}{'requests':>10}{'input tok':>14}{'output tok':>14}",
    ]
    for lv in levels:
        lines.append(
            f"{lv.name:<15}{lv.requests:>10,}{lv.input_tokens:>14,}{lv.output_tokens:>14,}"
        )
    tin = sum(lv.input_tokens for lv in levels)
    tout = sum(lv.output_tokens for lv in levels)
    lines.append(f"{'total':<15}{sum(lv.requests for lv in levels):>10,}{tin:>14,}{tout:>14,}")
    lines.append(f"{'backend':<11}{'model':<32}{'standard $':>12}{'batch $':>10}")
    if sp.backend == "offline":
        lines.append(f"{'offline':<11}{sp.model:<32}{0.0:>12,.2f}{0.0:>10,.2f}")
    for backend, model, usd, batch in projected_costs(levels, run.prices, run.llm.batch_purposes):
        lines.append(f"{backend:<11}{model:<32}{usd:>12,.2f}{batch:>10,.2f}")
    return "\n".join(lines)
