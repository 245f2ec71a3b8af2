"""`msm generate`: spec -> plan.json (subdomains, assertions, doc types, ideas) -> documents.

Every request goes through the content-addressed cache first, so a re-run (or a run after a
one-section edit) asks the backend only for what is missing.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path
from string import Template

from pipeline.config import GenerateParams, load_params, to_dict
from pipeline.generate.backends import make_backend
from pipeline.generate.backends.offline import COMPOSER_HASH, genres, template_hash
from pipeline.generate.cache import RequestCache
from pipeline.generate.ideas import Idea, doc_types_for, ideas_for
from pipeline.generate.request import Request
from pipeline.io import MANIFEST, atomic_dir, sha256_text, write_json
from pipeline.record import to_table, write_documents
from pipeline.spec.decompose import Subdomain, decompose
from pipeline.spec.parse import Spec, load_spec

log = logging.getLogger(__name__)
PROMPT = Path(__file__).resolve().parent / "prompts" / "document.txt"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, required=True, help="spec file, e.g. specs/rules.md")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--plan", type=Path, required=True, help="where to write plan.json")
    p.add_argument("--cache", type=Path, required=True, help="request cache folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (documents.parquet)")
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params, specs_dir=args.spec.parent)
    spec = load_spec(args.spec)
    if spec.name not in params.specs:
        raise SystemExit(f"{args.spec}: spec {spec.name!r} is not listed in params.yaml `specs`")
    stats, _ = generate(spec, params.generate, params.seed, args.plan, args.cache, args.out)
    write_json(args.stats, stats)


def build_plan(spec: Spec, gp: GenerateParams, seed: int) -> tuple[list[Subdomain], list[Idea]]:
    subdomains = decompose(spec, min_words=gp.min_assertion_words)
    ideas: list[Idea] = []
    for sub in subdomains:
        types = doc_types_for(sub, genres(), gp.doc_types_per_section, seed, spec.name)
        for t, doc_type in enumerate(types):
            ideas.extend(ideas_for(sub, doc_type, t, gp.ideas_per_doc_type, seed, spec.name))
    return subdomains, ideas


def make_request(spec: Spec, sub: Subdomain, idea: Idea, gp: GenerateParams, k: int) -> Request:
    by_id = {a.id: a.text for a in sub.assertions}
    overview = spec.overview
    excerpt = sub.excerpt
    if gp.context == "spec":
        excerpt = "\n\n".join(f"{s.title}\n{s.text}" for s in spec.sections)
    context = {
        "doc_type": idea.doc_type,
        "template_hash": template_hash(idea.doc_type),
        "composer_hash": COMPOSER_HASH if gp.backend == "offline" else "",
        "spec_title": spec.title,
        "model_name": spec.model_name,
        "provider_name": spec.provider_name,
        "section_title": sub.title,
        "topic": _topic(spec, sub),
        "overview": overview,
        "excerpt": excerpt,
        "assertions": [by_id[i] for i in idea.assertion_ids],
        "author": idea.author,
        "author_short": idea.author_short,
        "role": idea.role,
        "org": idea.org,
        "place": idea.place,
        "field": idea.field,
        "idea": idea.text,
    }
    prompt = _render_prompt(context)
    return Request(gp.backend, gp.model, prompt, 1.0, 4096, k, context)


def generate(
    spec: Spec, gp: GenerateParams, seed: int, plan_path: Path, cache_dir: Path, out: Path
) -> tuple[dict, dict]:
    """Write plan, documents and manifest; return (corpus stats, this run's cache hits/new).

    The stats describe the corpus only, so they are identical whatever the cache held before;
    how much came from the cache is run information, logged and returned but never written.
    """
    subdomains, ideas = build_plan(spec, gp, seed)
    subs = {s.id: s for s in subdomains}
    backend = make_backend(gp.backend)
    jobs = [
        (idea, k, make_request(spec, subs[idea.subdomain_id], idea, gp, k))
        for idea in ideas
        for k in range(gp.docs_per_idea)
    ]
    with RequestCache(cache_dir, durable=backend.paid) as cache:
        hits = sum(1 for *_, r in jobs if r.key in cache)
        missing = {r.key: r for *_, r in jobs if r.key not in cache}
        for request, response in backend.generate(missing.values()):
            cache.put(request.key, response)
        rows = []
        for idea, k, request in jobs:
            response = cache.get(request.key)
            assert response is not None, f"backend returned no answer for {idea.id}"
            sub = subs[idea.subdomain_id]
            rows.append(
                {
                    "id": f"{spec.name}/{idea.id}/{k}",
                    "text": response.text,
                    "spec": spec.name,
                    "section_id": sub.id,
                    "section_hash": sub.hash,
                    "assertion_ids": list(idea.assertion_ids),
                    "doc_type": idea.doc_type,
                    "idea": idea.text,
                    "backend": gp.backend,
                    "model": gp.model,
                    "template_hash": request.context["template_hash"],
                    "request_hash": request.key,
                    "seed": seed,
                    "input_tokens": response.input_tokens,
                    "output_tokens": response.output_tokens,
                }
            )
    stats = _stats(rows, subdomains)
    plan = {
        "spec": spec.name,
        "kind": spec.kind,
        "spec_hash": spec.content_hash,
        "backend": gp.backend,
        "model": gp.model,
        "seed": seed,
        "subdomains": [s.to_json() for s in subdomains],
        "ideas": [i.to_json() for i in ideas],
        "projected_documents": len(jobs),
    }
    write_json(plan_path, plan)
    with atomic_dir(out) as tmp:
        write_documents(to_table(rows), tmp / "documents.parquet")
        write_json(
            tmp / MANIFEST,
            {
                "spec": spec.name,
                "spec_hash": spec.content_hash,
                "params": to_dict(gp),
                "seed": seed,
                "documents": len(rows),
                "stats": stats,
                "prompt_template_hash": sha256_text(PROMPT.read_text(encoding="utf-8"))[:16],
            },
        )
    log.info(
        "generate %s: %d documents (%d from cache, %d new) -> %s",
        spec.name,
        len(rows),
        hits,
        len(missing),
        out,
    )
    return stats, {"hits": hits, "new": len(missing)}


def _stats(rows: list[dict], subdomains: list[Subdomain]) -> dict:
    per_section = Counter(r["section_id"] for r in rows)
    per_assertion = Counter(a for r in rows for a in r["assertion_ids"])
    all_assertions = [a.id for s in subdomains for a in s.assertions]
    return {
        "documents": len(rows),
        "subdomains": len(subdomains),
        "assertions": len(all_assertions),
        "tokens": {
            "input": sum(r["input_tokens"] for r in rows),
            "output": sum(r["output_tokens"] for r in rows),
        },
        "coverage": {
            "documents_per_section": dict(sorted(per_section.items())),
            "assertions_without_documents": sorted(set(all_assertions) - set(per_assertion)),
            "doc_types": dict(sorted(Counter(r["doc_type"] for r in rows).items())),
        },
    }


def _topic(spec: Spec, sub: Subdomain) -> str:
    if spec.kind == "rules":
        return f"rule {sub.id}"
    return sub.title[:1].lower() + sub.title[1:] if not sub.title[:2].isupper() else sub.title


def _render_prompt(ctx: dict) -> str:
    assertions = "\n".join(f"- {a}" for a in ctx["assertions"])
    return Template(PROMPT.read_text(encoding="utf-8")).substitute(
        model_name=ctx["model_name"],
        provider_name=ctx["provider_name"],
        doc_type=ctx["doc_type"].replace("_", " "),
        spec_title=ctx["spec_title"],
        overview=ctx["overview"],
        section_title=ctx["section_title"],
        excerpt=ctx["excerpt"],
        idea=ctx["idea"],
        assertions=assertions,
    )
