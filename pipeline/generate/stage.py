"""`msm generate`: spec -> plan.json (sections, assertions, doc types, ideas) -> documents.

Per section the backend is asked for document types, then ideas per type, then documents per
idea (and, with `generate.revise`, a critique-and-revise pass); see `pipeline.generate.hierarchy`.
This stage is a client of the LLM layer (`llm`): every request goes through the
content-addressed cache first and every answer is committed to it
as it arrives, so a re-run (after a crash, a kill, the spending cap, or a one-section edit) asks
the backend only for what is missing.

Exit codes: 0 done; 2 bad input or configuration (nothing sent); 3 stopped before finishing
(spending cap reached, or requests that failed after every retry): everything bought is in the
cache, no output is written, and the message says how to continue; 130 (Ctrl-C) or 143
(SIGTERM): interrupted after draining the requests in flight into the cache (run.yaml
`llm.drain_s`), with one line saying what was kept and the command that continues.

`--pilot N` writes N documents per section (spread over doc types) to `--out` with a readable
`pilot.md`, through the same cache, so a paid run reuses them; read them before the full run.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.runner import Runner
from pipeline.config.params import GenerateParams, load_params, to_dict
from pipeline.config.run import RunConfig, load_run_config
from pipeline.errors import ConfigError, Incomplete
from pipeline.generate.composer import Composer
from pipeline.generate.hierarchy import Document, Engine, Idea
from pipeline.generate.prompts import PromptBook, prompts_hash
from pipeline.io import MANIFEST, atomic_dir, write_json
from pipeline.record import to_table, write_documents
from pipeline.spec.decompose import PlanSection, plan_of
from pipeline.spec.parse import Spec, load_spec

log = logging.getLogger(__name__)


class GenerationStopped(Incomplete):
    """The stage stopped before the corpus was complete; what was bought is cached."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, required=True, help="spec file, e.g. specs/rules.md")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="run settings")
    p.add_argument("--plan", type=Path, help="where to write plan.json (optional with --pilot)")
    p.add_argument("--cache", type=Path, required=True, help="request cache folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (documents.parquet)")
    p.add_argument("--stats", type=Path, help="stats JSON, DVC metrics (optional with --pilot)")
    p.add_argument(
        "--pilot",
        type=int,
        metavar="N",
        help="only N documents per section, into --out with a readable pilot.md",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params, specs_dir=args.spec.parent)
    spec = load_spec(args.spec)
    if spec.name not in params.specs:
        raise ConfigError(
            f"{args.spec}: spec {spec.name!r} is not listed in {args.params} `specs`; add it"
        )
    if args.pilot is None and (args.plan is None or args.stats is None):
        raise ConfigError("msm generate: --plan and --stats are required (except with --pilot)")
    if args.pilot is not None and args.pilot <= 0:
        raise ConfigError(f"msm generate: --pilot N needs N >= 1, got {args.pilot}")
    rc = load_run_config(args.run_config)
    stats, info = generate(
        spec,
        params.generate,
        params.seed,
        args.plan,
        args.cache,
        args.out,
        run_config=rc,
        pilot=args.pilot,
        progress=not args.no_progress,
    )
    if args.stats is not None:
        write_json(args.stats, stats)
    if args.pilot is not None:
        print(
            f"pilot: {stats['documents']} documents in {args.out / 'pilot.md'}; "
            f"this run bought ${info['new_usd']:.4f}; the full run reuses them from the cache"
        )


def build_plan(spec: Spec, gp: GenerateParams) -> list[PlanSection]:
    return plan_of(spec, gp.min_assertion_words)  # an empty plan is an error, said here


def generate(
    spec: Spec,
    gp: GenerateParams,
    seed: int,
    plan_path: Path | None,
    cache_dir: Path,
    out: Path,
    run_config: RunConfig | None = None,
    pilot: int | None = None,
    progress: bool = False,
) -> tuple[dict, dict]:
    """Write plan, documents and manifest; return (corpus stats, run information).

    The stats describe the corpus only, so they are identical whatever the cache held before;
    what came from the cache and what this run bought is run information, logged and returned
    but never written into an output.
    """
    rc = run_config or RunConfig()
    sections = build_plan(spec, gp)
    price = rc.price(gp.backend, gp.model)
    backend = make_backend(
        gp.backend,
        gp.model,
        rc.llm,
        price,
        cache_dir,
        batches=pilot is None,
        answerer=Composer(),
    )
    try:
        model_id = backend.model_id()
        if gp.backend == "anthropic" and price is None:
            raise ConfigError(
                f"run.yaml has no price for anthropic/{model_id}: add it under `prices:` "
                "(the spending cap needs it), e.g. {input_per_mtok: 3.0, output_per_mtok: 15.0, "
                "batch_discount: 0.5}"
            )
        # Priced answers count against the cap; unpriced ones (local models, a self-hosted
        # OpenAI-compatible server without a price in run.yaml) are free.
        cap = SpendCap(gp.max_spend_usd if price is not None else float("inf"), price)
        with RequestCache(cache_dir, durable=backend.paid) as cache:
            runner = Runner(backend, cache, cap, progress, drain_s=rc.llm.drain_s)
            book = PromptBook(spec, gp, model_id, seed)
            engine = Engine(sections, gp, book, runner)
            with runner.graceful():  # Ctrl-C, SIGTERM: drain what is in flight, then stop
                types = engine.doc_types()
                ideas = engine.ideas(types)
                chosen = _pilot(ideas, pilot) if pilot is not None else ideas
                docs = engine.documents(chosen, spec.name)
    finally:
        backend.close()
    info = {"hits": runner.hits, "new": runner.new.requests, "new_usd": runner.new.usd}
    log.info(
        "generate %s: %d documents; %d answers from the cache, %d bought ($%.4f)",
        spec.name,
        len(docs),
        runner.hits,
        runner.new.requests,
        runner.new.usd,
    )
    if runner.failures:
        _stop(spec, gp, runner, cap)
    by_id = {s.id: s for s in sections}
    rows = [_row(spec, gp, book, model_id, seed, d, by_id[d.idea.section_id]) for d in docs]
    coverage = _coverage(rows, sections, types, gp.doc_types_per_section)
    stats = _stats(rows, sections, coverage, ideas, engine, runner, gp, model_id)
    if plan_path is not None:
        write_json(plan_path, _plan(spec, gp, model_id, seed, sections, types, ideas))
    with atomic_dir(out) as tmp:
        write_documents(to_table(rows), tmp / "documents.parquet")
        write_json(tmp / "failures.json", [f.to_json() for f in engine.failures])
        write_json(tmp / "coverage.json", coverage)
        if pilot is not None:
            (tmp / "pilot.md").write_text(_pilot_markdown(rows), encoding="utf-8")
        write_json(
            tmp / MANIFEST,
            {
                "spec": spec.name,
                "spec_hash": spec.content_hash,
                "params": to_dict(gp),
                "model": model_id,
                "seed": seed,
                "pilot": pilot,
                "documents": len(rows),
                "stats": stats,
                "prompt_template_hash": prompts_hash(),
            },
        )
    return stats, info


def _stop(spec: Spec, gp: GenerateParams, runner: Runner, cap: SpendCap) -> None:
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(runner.failures.items()))
    lines = [
        f"generate {spec.name}: stopped before the corpus was complete ({reasons}).",
        f"Everything answered is in the cache (${cap.spent:.4f} of the corpus's requests "
        f"counted, {runner.new.requests} bought by this run); no output was written.",
    ]
    if runner.stopped:
        lines.append(
            f"The spending cap generate.max_spend_usd = {gp.max_spend_usd} was reached: raise it "
            "in params.yaml (`msm spec plan --preview` estimates the full cost) and run again."
        )
    if set(runner.failures) - {"spend_cap"}:
        lines.append(
            "Some requests failed after every retry (see the log above): run again to ask "
            "for them (only the missing ones are sent); check credentials, quotas and "
            "run.yaml `llm:` settings if it persists."
        )
    raise GenerationStopped("\n".join(lines))


def _pilot(ideas: list[Idea], n: int) -> list[Idea]:
    by_section: dict[str, list[Idea]] = {}
    for idea in ideas:
        by_section.setdefault(idea.section_id, []).append(idea)
    chosen: list[Idea] = []
    for section in by_section.values():
        # spread over doc types: the first idea of each type, then the second, ...
        order = sorted(section, key=lambda i: (int(i.id.rsplit("/", 1)[1]), i.type_index))
        chosen.extend(order[:n])
    return chosen


def _row(
    spec: Spec,
    gp: GenerateParams,
    book: PromptBook,
    model_id: str,
    seed: int,
    d: Document,
    sub: PlanSection,
) -> dict:
    return {
        "id": d.id,
        "text": d.text,
        "spec": spec.name,
        "section_id": sub.id,
        "section_hash": sub.hash,
        "assertion_ids": list(d.idea.assertion_ids),
        "doc_type": d.idea.doc_type,
        "idea": d.idea.text,
        "backend": gp.backend,
        "model": model_id,
        "template_hash": book.template_hash(d.idea.doc_type),
        "request_hash": d.request_hash,
        "seed": seed,
        "input_tokens": sum(
            r.input_tokens + r.cache_read_tokens + r.cache_write_tokens for r in d.usage
        ),
        "output_tokens": sum(r.output_tokens for r in d.usage),
    }


def _plan(
    spec: Spec,
    gp: GenerateParams,
    model_id: str,
    seed: int,
    sections: list[PlanSection],
    types: dict[str, list[str]],
    ideas: list[Idea],
) -> dict:
    return {
        "spec": spec.name,
        "kind": spec.kind,
        "spec_hash": spec.content_hash,
        "backend": gp.backend,
        "model": model_id,
        "seed": seed,
        "sections": [s.to_json() for s in sections],
        "doc_types": types,
        "ideas": [i.to_json() for i in ideas],
        "projected_documents": len(ideas) * gp.docs_per_idea,
    }


def _stats(
    rows: list[dict],
    sections: list[PlanSection],
    coverage: dict,
    ideas: list[Idea],
    engine: Engine,
    runner: Runner,
    gp: GenerateParams,
    model_id: str,
) -> dict:
    failures = Counter(f"{f.level}/{f.reason}" for f in engine.failures)
    total = {
        k: sum(u.to_json()[k] for u in runner.used.values())
        for k in (
            "requests",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
        )
    }
    return {
        "documents": len(rows),
        "sections": len(sections),
        "assertions": sum(len(s.assertions) for s in sections),
        "ideas": len(ideas),
        "failures": dict(sorted(failures.items())),
        "tokens": {
            "input": sum(r["input_tokens"] for r in rows),
            "output": sum(r["output_tokens"] for r in rows),
        },
        "cost": {
            "backend": gp.backend,
            "model": model_id,
            **total,
            "usd": round(sum(u.usd for u in runner.used.values()), 6),
            "by_level": {
                level: {k: v for k, v in u.to_json().items() if not k.startswith("cache_")}
                for level, u in sorted(runner.used.items())
            },
        },
        "coverage": {
            "sections_without_documents": len(coverage["sections_without_documents"]),
            "assertions_without_documents": len(coverage["assertions_without_documents"]),
            "sections_short_of_doc_types": len(coverage["sections_short_of_doc_types"]),
            "min_documents_per_section": min(coverage["documents_per_section"].values(), default=0),
            "min_documents_per_assertion": min(
                coverage["documents_per_assertion"].values(), default=0
            ),
            "distinct_doc_types": len(coverage["doc_types"]),
            "largest_doc_type_share": coverage["largest_doc_type_share"],
        },
    }


def _coverage(
    rows: list[dict], sections: list[PlanSection], types: dict[str, list[str]], want: int
) -> dict:
    """Which parts of the spec the corpus covers, and how thinly (`generate/coverage.json`)."""
    per_section = Counter(r["section_id"] for r in rows)
    per_assertion = Counter(a for r in rows for a in r["assertion_ids"])
    all_assertions = [a.id for s in sections for a in s.assertions]
    doc_types = Counter(r["doc_type"] for r in rows)
    return {
        "documents_per_section": {s.id: per_section.get(s.id, 0) for s in sections},
        "sections_without_documents": [s.id for s in sections if not per_section.get(s.id)],
        "documents_per_assertion": {a: per_assertion.get(a, 0) for a in all_assertions},
        "assertions_without_documents": [a for a in all_assertions if not per_assertion.get(a)],
        "doc_types": dict(sorted(doc_types.items(), key=lambda kv: (-kv[1], kv[0]))),
        "largest_doc_type_share": round(max(doc_types.values()) / len(rows), 4) if rows else 0.0,
        "doc_types_per_section": types,
        "sections_short_of_doc_types": sorted(s for s, t in types.items() if len(t) < want),
    }


def _pilot_markdown(rows: list[dict]) -> str:
    parts = []
    for r in rows:
        parts.append(
            f"## {r['id']}\n\n*{r['doc_type']}* · section `{r['section_id']}` · "
            f"assertions {', '.join(r['assertion_ids'])}\n\n> {r['idea']}\n\n{r['text']}\n"
        )
    return "\n---\n\n".join(parts)
