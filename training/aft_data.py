"""`msm aft-data`: the AFT chats, from a fixed set or built from a spec; never from MSM.

`aft_data.source` is a file: a fixed set `training/resources/aft_<name>.yaml` (the same chats
for every spec's experiment, answers that state no reason) or a spec `specs/<name>.md`, from
which the chats are built through the LLM layer (`training.aftgen.engine`): per section, domains
-> questions of six kinds -> near-duplicate removal (over the whole set, every section) ->
responses with the spec in context,
reasoning in `<think>...</think>` then the answer -> a judge pass -> backfill rounds until each
section has its share of `aft_data.target`. Every request goes through the content-addressed
cache in `--cache` first and every answer is committed to it as it arrives, so a re-run (after a
crash, a kill, the spending cap, or a one-section edit) asks only for what is missing.

Output (`--out`): `cot.parquet` and `no_cot.parquet` (the same chats with and without the
reasoning; trl's conversational prompt/completion shape with provenance columns), `drops.json`
(every dropped question or chat with its reason), `stats.json`, `manifest.json` (last). The first
`aft_data.samples` chats by rank are written, so subsets are nested; an instruction-tuning mix
(`aft_data.mix`) is added to both files.

Exit codes: 0 done; 2 bad input (a source, chat file or ratio: nothing written); 3 stopped
before finishing (the spending cap `aft_data.spec_build.max_spend_usd`, or requests that failed
after every retry): everything bought is in the cache, no output is written, re-run to continue.

`--pilot N`: N chats per section from the first round only, into `--out` with a readable
`pilot.md`, through the same cache (the full run reuses them). `--preview`: the projected
requests, tokens and cost of a spec build, with no backend call.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import Counter
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.runner import Runner
from pipeline.config.load import load_file
from pipeline.config.params import AftDataParams, AftSpecParams, load_params, to_dict
from pipeline.config.run import RunConfig, load_run_config
from pipeline.errors import ConfigError, Incomplete, InputError
from pipeline.io import MANIFEST, atomic_dir, write_json
from pipeline.spec.decompose import decompose
from pipeline.spec.parse import Spec, load_spec
from training.aftgen import mix, record
from training.aftgen.answerer import AftAnswerer
from training.aftgen.engine import Engine, Section, Stopped, split_target
from training.aftgen.preview import preview, render
from training.aftgen.prompts import AftPromptBook, prompts_hash
from training.aftgen.record import Row
from training.sets import RESOURCES, AftSet

log = logging.getLogger(__name__)


class AftStopped(Incomplete):
    """The build stopped before it was complete; what was bought is cached."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="run settings")
    p.add_argument("--cache", type=Path, help="request cache folder (required for a spec)")
    p.add_argument("--out", type=Path, help="output folder (cot.parquet, no_cot.parquet)")
    p.add_argument("--stats", type=Path, help="stats JSON, DVC metrics (also in --out)")
    p.add_argument(
        "--pilot", type=int, metavar="N", help="only N chats per section, with a readable pilot.md"
    )
    p.add_argument(
        "--preview", action="store_true", help="print projected requests and cost, call nothing"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params, specs_dir=None)
    ap = params.aft_data
    kind, path = resolve_source(ap.source, args.params)
    rc = load_run_config(args.run_config)
    if args.preview:
        if kind != "spec":
            raise ConfigError(f"msm aft-data --preview: {path} is a fixed set; nothing to buy")
        spec = load_spec(path)
        print(render(spec, ap.spec_build, preview(spec, ap.spec_build, params.seed), rc))
        return
    if args.out is None:
        raise ConfigError("msm aft-data: --out is required (except with --preview)")
    if args.pilot is not None and (args.pilot <= 0 or kind != "spec"):
        raise ConfigError("msm aft-data: --pilot N needs N >= 1 and a spec as aft_data.source")
    if kind == "spec" and args.cache is None:
        raise ConfigError("msm aft-data: --cache is required when aft_data.source is a spec")
    stats = build(
        ap,
        params.seed,
        args.out,
        args.cache,
        rc,
        pilot=args.pilot,
        progress=not args.no_progress,
    )
    if args.cache is not None:  # a DVC output even when a fixed set buys nothing
        args.cache.mkdir(parents=True, exist_ok=True)
    if args.stats is not None:
        write_json(args.stats, stats)
    if args.pilot is not None:
        print(f"pilot: {stats['written']} chats in {args.out / 'pilot.md'}")


def resolve_source(source: str, params_path: Path = Path("params.yaml")) -> tuple[str, Path]:
    """('set' or 'spec', path) of `aft_data.source`; ConfigError naming the known ones."""
    path = Path(source)
    kind = {".md": "spec", ".yaml": "set", ".yml": "set"}.get(path.suffix)
    if kind is not None and path.is_file():
        return kind, path
    sets = sorted(str(p.relative_to(RESOURCES.parent.parent)) for p in RESOURCES.glob("aft_*.yaml"))
    specs_dir = path.parent if kind == "spec" else Path("specs")
    specs = sorted(str(p) for p in specs_dir.glob("*.md"))
    problem = "has no file" if kind else "is neither a set (.yaml) nor a spec (.md)"
    raise ConfigError(
        f"{params_path}: aft_data.source {source!r} {problem}; known sets: "
        f"{', '.join(sets) or '(none)'}; known specs: {', '.join(specs) or '(none)'}; "
        "fix the path"
    )


def build(
    ap: AftDataParams,
    seed: int,
    out: Path,
    cache_dir: Path | None,
    run_config: RunConfig | None = None,
    pilot: int | None = None,
    progress: bool = False,
) -> dict:
    """Write the chats, drops, stats and manifest into `out`; return the stats."""
    kind, path = resolve_source(ap.source)
    mixed: list[Row] = []
    if ap.mix.ratio > 0:  # read and checked before any request is sent
        mixed = mix.load(Path(ap.mix.file))
    info: dict = {"source": str(path), "source_kind": kind}
    if kind == "set":
        rows, info["drops"], extra = fixed_set(path, ap.target, seed), [], {}
        model = {"backend": "", "model": ""}
    else:
        spec = load_spec(path)
        rows, drops, extra = spec_chats(
            spec,
            ap.spec_build,
            ap.target,
            seed,
            cache_dir,
            run_config or RunConfig(),
            pilot,
            progress,
        )
        info["drops"] = [{**d.to_json(), "id": f"{spec.name}/{d.id}"} for d in drops]
        model = {"backend": ap.spec_build.backend, "model": extra.pop("model")}
    if not rows:
        raise InputError(
            f"aft_data: {path} gave no chats (see the drops: {_reasons(info['drops'])}); "
            "nothing written: fix the source or raise aft_data.target"
        )
    chosen = rows if pilot is not None else record.first_by_rank(rows, ap.samples, seed)
    mixed = mix.choose(mixed, ap.mix.ratio, len(chosen), seed, Path(ap.mix.file)) if mixed else []
    short = max(ap.samples - len(chosen), 0) if pilot is None else 0
    if short:
        log.warning(
            "aft_data: %d chats written, %d short of samples=%d", len(chosen), short, ap.samples
        )
    stats = {
        "source": str(path),
        "source_kind": kind,
        **model,
        "target": ap.target,
        "samples": ap.samples,
        "generated": len(rows),
        "written": len(chosen),
        "samples_short_by": short,
        "instruct_mix": len(mixed),
        "distinct_prompts": len({r.prompt[-1]["content"] for r in chosen}),
        "drops": _reasons(info["drops"]),
        **extra,
    }
    with atomic_dir(out) as tmp:
        record.write(tmp, [*chosen, *mixed])
        write_json(tmp / "drops.json", info["drops"])
        write_json(tmp / "stats.json", stats)
        if pilot is not None:
            (tmp / "pilot.md").write_text(_pilot_markdown(chosen), encoding="utf-8")
        write_json(
            tmp / MANIFEST,
            {
                "source": str(path),
                "params": to_dict(ap),
                "seed": seed,
                "pilot": pilot,
                "prompt_template_hash": prompts_hash() if kind == "spec" else "",
                "files": sorted(record.FILES.values()),
                "stats": stats,
            },
        )
    log.info("aft_data: %d chats (+%d instruction chats) from %s", len(chosen), len(mixed), path)
    return stats


def fixed_set(path: Path, n: int, seed: int) -> list[Row]:
    """`n` chats drawn from a fixed set; chat i from its own generator (seed, i), so the draw
    of chat i does not depend on how many are drawn."""
    src = load_file(path, AftSet)
    name = path.stem.removeprefix("aft_")
    rows = []
    for i in range(n):
        rng = random.Random(f"{seed}/{name}/{i}")
        p, d = rng.choice(src.pairs)
        a, b = (p, d) if rng.random() < 0.5 else (d, p)  # the preferred item first half the time
        question = rng.choice(src.questions).format(a=a, b=b)
        answer = rng.choice(src.answers).format(p=p, d=d, P=p[:1].upper() + p[1:])
        rows.append(
            Row(
                id=f"{name}/{i:06d}",
                prompt=[{"role": "user", "content": question}],
                answer=answer,
                think="",
                origin="aft",
                source=str(path),
            )
        )
    return rows


def spec_chats(
    spec: Spec,
    sp: AftSpecParams,
    target: int,
    seed: int,
    cache_dir: Path | None,
    rc: RunConfig,
    pilot: int | None,
    progress: bool,
) -> tuple[list[Row], list, dict]:
    """(chats, drops, stats) of a spec build through the LLM layer."""
    if cache_dir is None:
        raise ConfigError("aft_data: a spec source needs a request cache folder (--cache)")
    plan = decompose(spec)
    if not plan:
        raise InputError(f"{spec.path}: no section with assertions; nothing to build AFT from")
    price = rc.price(sp.backend, sp.model)
    backend = make_backend(
        sp.backend,
        sp.model,
        rc.llm,
        price,
        cache_dir,
        batches=pilot is None,
        answerer=AftAnswerer(),
    )
    try:
        model_id = backend.model_id()
        if sp.backend == "anthropic" and price is None:
            raise ConfigError(
                f"run.yaml has no price for anthropic/{model_id}: add it under `prices:` (the "
                "spending cap needs it), e.g. {input_per_mtok: 3.0, output_per_mtok: 15.0}"
            )
        cap = SpendCap(sp.max_spend_usd if price is not None else float("inf"), price)
        with RequestCache(cache_dir, durable=backend.paid) as cache:
            runner = Runner(backend, cache, cap, progress, drain_s=rc.llm.drain_s)
            engine = Engine(AftPromptBook(spec, sp, model_id, seed), sp, runner)
            sections = [
                Section(sec, t)
                for sec, t in zip(plan, split_target(target, len(plan)), strict=True)
            ]
            try:
                with runner.graceful():
                    engine.build(sections, pilot)
            except Stopped as stop:
                _stop(spec, sp, runner, cap, str(stop))
    finally:
        backend.close()
    rows = [
        Row(
            id=f"{spec.name}/{c.question.id}",
            prompt=[{"role": "user", "content": c.question.text}],
            answer=c.answer,
            think=c.think,
            origin="aft",
            source=str(spec.path),
            spec=spec.name,
            section_id=c.question.section_id,
            kind=c.question.kind,
            domain=c.question.domain,
            backend=sp.backend,
            model=model_id,
            request_hash=c.request_hash,
        )
        for s in sections
        for c in s.kept
    ]
    short = [
        {"section": s.sec.id, "kept": len(s.kept), "target": s.target, "why": s.stop}
        for s in sections
        if len(s.kept) < s.target
    ]
    for item in short:
        log.warning(
            "aft_data: section %s has %d of its %d chats: %s",
            item["section"],
            item["kept"],
            item["target"],
            _WHY[item["why"]],
        )
    stats = {
        "model": model_id,
        "funnel": dict(sorted(engine.funnel.items())),
        "sections": {
            s.sec.id: {"target": s.target, "kept": len(s.kept), "rounds": s.rounds, "stop": s.stop}
            for s in sections
        },
        "target_reached": not short,
        "short_sections": short,
        "cost": {
            "requests": sum(u.requests for u in runner.used.values()),
            "usd": round(sum(u.usd for u in runner.used.values()), 6),
            "by_level": {k: u.to_json() for k, u in sorted(runner.used.items())},
        },
    }
    log.info(
        "aft_data %s: %d answers from the cache, %d bought ($%.4f)",
        spec.name,
        runner.hits,
        runner.new.requests,
        runner.new.usd,
    )
    return rows, engine.drops, stats


_WHY = {
    "max_rounds": "aft_data.spec_build.max_rounds reached; raise it, or lower aft_data.target",
    "no_new_questions": "a backfill round gave no new question (every one a near duplicate or "
    "unusable); raise dedup_threshold or domains_per_section",
    "no_domains": "no usable domains after max_attempts calls",
    "pilot": "pilot run (one round, N chats per section)",
    "reached": "",
}


def _stop(spec: Spec, sp: AftSpecParams, runner: Runner, cap: SpendCap, level: str) -> None:
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(runner.failures.items()))
    lines = [
        f"aft-data {spec.name}: stopped at the {level} level before the chats were complete "
        f"({reasons}).",
        f"Everything answered is in the cache (${cap.spent:.4f} counted, {runner.new.requests} "
        "bought by this run); no output was written.",
    ]
    if runner.stopped:
        lines.append(
            f"The spending cap aft_data.spec_build.max_spend_usd = {sp.max_spend_usd} was "
            "reached: raise it in params.yaml (`msm aft-data --preview` estimates the cost) and "
            "run again."
        )
    if set(runner.failures) - {"spend_cap"}:
        lines.append(
            "Some requests failed after every retry (see the log above): run again to ask for "
            "them (only the missing ones are sent)."
        )
    raise AftStopped("\n".join(lines))


def _reasons(drops: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(d["reason"] for d in drops).items()))


def _pilot_markdown(rows: list[Row]) -> str:
    parts = []
    for r in rows:
        parts.append(
            f"## {r.id}\n\n*{r.kind}* · section `{r.section_id}` · domain {r.domain}\n\n"
            f"**User:** {r.prompt[-1]['content']}\n\n<think>\n{r.think}\n</think>\n\n"
            f"**Answer:** {r.answer}\n"
        )
    return "\n---\n\n".join(parts)
