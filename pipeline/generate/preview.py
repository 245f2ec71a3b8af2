"""Projected requests, tokens and cost of a spec's generation, before any paid call.

Nothing here calls a backend. Request counts per level follow from params (sections x doc types
x ideas x documents per idea, plus one revision per document with `generate.revise`); top-ups
and retries come on top when a model answers short or unusably. Input tokens are estimated from
the real rendered prompts (the section's system prompt and each level's prompt, with a
representative idea of `IDEA_CHARS` characters) at 4 characters per token; output tokens per
document (and revision) come from `run.yaml` `expected_output_tokens`, per doc-type and idea
call from the constants below. Prompt caching is not counted, so the figures are an upper
bound for the input side. The batch column prices the levels (request purposes) in
`llm.batch_purposes` at the batch discount.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm.pricing import PREVIEW_CHARS_PER_TOKEN as CHARS_PER_TOKEN
from llm.pricing import Level, Projection, projected_costs
from pipeline.config.params import GenerateParams
from pipeline.config.run import RunConfig
from pipeline.generate.prompts import PromptBook, local_ids
from pipeline.generate.stage import build_plan
from pipeline.spec.parse import Spec

IDEA_CHARS = 400
DOC_TYPES_OUTPUT_TOKENS = 300
"""Expected output of one doc-types call (scratch plus a short list)."""
IDEA_OUTPUT_TOKENS = 150
"""Expected output per idea of an ideas call (one idea block), plus 200 of scratch per call."""


@dataclass(frozen=True)
class Preview:
    spec: str
    sections: int
    assertions: int
    doc_types_per_section: int
    ideas_per_doc_type: int
    docs_per_idea: int
    documents: int
    levels: list[Level]
    costs: list[tuple[str, str, float, float]]
    """(backend, model, standard USD, batch USD) per priced model."""

    @property
    def input_tokens(self) -> int:
        return sum(lvl.input_tokens for lvl in self.levels)

    @property
    def output_tokens(self) -> int:
        return sum(lvl.output_tokens for lvl in self.levels)


def preview(spec: Spec, gp: GenerateParams, seed: int, run: RunConfig) -> Preview:
    sections = build_plan(spec, gp)
    book = PromptBook(spec, gp, gp.model, seed)
    t, i, d = gp.doc_types_per_section, gp.ideas_per_doc_type, gp.docs_per_idea
    per_doc = t * i * d
    acc = Projection(["doc_types", "ideas", "document", "revise"])
    for sub in sections:
        ids = list(local_ids(sub))[:2]
        idea = {"summary": "x" * IDEA_CHARS, "assertions": ids}
        acc.add("doc_types", 1, book.doc_types(sub, t, [], 0, 0), DOC_TYPES_OUTPUT_TOKENS)
        ideas = book.ideas(sub, "news report", 0, i, [], 0, 0)
        acc.add("ideas", t, ideas, 200 + IDEA_OUTPUT_TOKENS * i)
        doc = book.document(sub, "news report", idea, 0, 0)
        acc.add("document", per_doc, doc, run.expected_output_tokens)
        if gp.revise:
            rev = book.revise(
                sub, "news report", idea, 0, "x" * (4 * run.expected_output_tokens), 0
            )
            acc.add("revise", per_doc, rev, run.expected_output_tokens)
    rows = acc.levels()
    costs = [(gp.backend, gp.model, 0.0, 0.0)] if gp.backend == "offline" else []
    costs += projected_costs(rows, run.prices, run.llm.batch_purposes)
    return Preview(
        spec=spec.name,
        sections=len(sections),
        assertions=sum(len(s.assertions) for s in sections),
        doc_types_per_section=t,
        ideas_per_doc_type=i,
        docs_per_idea=d,
        documents=len(sections) * per_doc,
        levels=rows,
        costs=costs,
    )


def render(p: Preview) -> str:
    lines = [
        f"spec {p.spec}: {p.sections} sections, {p.assertions} assertions",
        f"projected documents: {p.sections} sections x {p.doc_types_per_section} doc types x "
        f"{p.ideas_per_doc_type} ideas x {p.docs_per_idea} per idea = {p.documents:,}",
        f"{'level':<11}{'requests':>10}{'input tok':>14}{'output tok':>14}",
    ]
    for lvl in p.levels:
        lines.append(
            f"{lvl.name:<11}{lvl.requests:>10,}{lvl.input_tokens:>14,}{lvl.output_tokens:>14,}"
        )
    lines += [
        f"{'total':<11}{sum(v.requests for v in p.levels):>10,}{p.input_tokens:>14,}"
        f"{p.output_tokens:>14,}",
        f"(input at {CHARS_PER_TOKEN} chars/token from the rendered prompts, without prompt "
        "caching; output per document from run.yaml expected_output_tokens; top-ups and "
        "retries come on top)",
        f"{'backend':<11}{'model':<32}{'standard $':>12}{'batch $':>10}",
    ]
    for backend, model, usd, batch in p.costs:
        lines.append(f"{backend:<11}{model:<32}{usd:>12,.2f}{batch:>10,.2f}")
    if len(p.costs) <= 1:
        lines.append("(no prices in run.yaml: add `prices:` to preview paid backends)")
    return "\n".join(lines)
