"""Projected document counts, tokens and cost of a spec's generation plan, before any paid call.

Nothing here calls a backend: the plan is built exactly as `msm generate` builds it, and every
document request's prompt is rendered, so the input-token estimate covers the real prompts.
Tokens are estimated at 4 characters per token (providers' tokenizers differ; this is a
planning figure); output tokens per document come from `run.yaml` `expected_output_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import GenerateParams
from pipeline.generate.stage import build_plan, make_request
from pipeline.runconfig import RunConfig
from pipeline.spec.parse import Spec

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Preview:
    spec: str
    subdomains: int
    assertions: int
    doc_types_per_section: int
    ideas_per_doc_type: int
    docs_per_idea: int
    documents: int
    input_tokens: int
    output_tokens: int
    costs: list[tuple[str, str, float, float]]
    """(backend, model, standard USD, batch USD) per priced model."""


def preview(spec: Spec, gp: GenerateParams, seed: int, run: RunConfig) -> Preview:
    subdomains, ideas = build_plan(spec, gp, seed)
    subs = {s.id: s for s in subdomains}
    prompts = [
        make_request(spec, subs[idea.subdomain_id], idea, gp, k).prompt
        for idea in ideas
        for k in range(gp.docs_per_idea)
    ]
    input_tokens = sum(len(p) for p in prompts) // CHARS_PER_TOKEN
    output_tokens = len(prompts) * run.expected_output_tokens
    costs = [(gp.backend, gp.model, 0.0, 0.0)] if gp.backend == "offline" else []
    for backend, models in sorted(run.prices.items()):
        for model, price in sorted(models.items()):
            usd = (
                input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok
            ) / 1e6
            costs.append((backend, model, usd, usd * (1 - price.batch_discount)))
    types = max((len({i.doc_type for i in ideas if i.subdomain_id == s}) for s in subs), default=0)
    return Preview(
        spec=spec.name,
        subdomains=len(subdomains),
        assertions=sum(len(s.assertions) for s in subdomains),
        doc_types_per_section=types,
        ideas_per_doc_type=gp.ideas_per_doc_type,
        docs_per_idea=gp.docs_per_idea,
        documents=len(prompts),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        costs=costs,
    )


def render(p: Preview) -> str:
    lines = [
        f"spec {p.spec}: {p.subdomains} sections, {p.assertions} assertions",
        f"projected documents: {p.subdomains} sections x {p.doc_types_per_section} doc types x "
        f"{p.ideas_per_doc_type} ideas x {p.docs_per_idea} per idea = {p.documents:,}",
        f"estimated tokens: input {p.input_tokens:,} ({CHARS_PER_TOKEN} chars/token), "
        f"output {p.output_tokens:,} (run.yaml expected_output_tokens per document)",
        f"{'backend':<11}{'model':<32}{'standard $':>12}{'batch $':>10}",
    ]
    for backend, model, usd, batch in p.costs:
        lines.append(f"{backend:<11}{model:<32}{usd:>12,.2f}{batch:>10,.2f}")
    if len(p.costs) <= 1:
        lines.append("(no prices in run.yaml: add `prices:` to preview paid backends)")
    return "\n".join(lines)
