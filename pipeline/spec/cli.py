"""`msm spec lint [FILES]`, `msm spec show NAME` and `msm spec plan NAME [--preview]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.errors import CheckFailed
from pipeline.spec.decompose import decompose, plan_of
from pipeline.spec.parse import SpecError, load_spec


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="spec_command", required=True, metavar="ACTION")
    lint = sub.add_parser(
        "lint",
        help="validate spec files (default: specs/*.md)",
        description="Parse each spec and decompose it as `msm generate` does: a spec that "
        "parses but leaves nothing to generate from (a rules spec without rule items, no "
        "sentence of generate.min_assertion_words words) fails too.",
    )
    lint.add_argument("files", nargs="*", type=Path)
    lint.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="generate.min_assertion_words"
    )
    show = sub.add_parser("show", help="print a spec's sections, rules and word counts")
    show.add_argument("name", help="spec name (specs/NAME.md) or a path")
    show.add_argument("--specs-dir", type=Path, default=Path("specs"))
    plan = sub.add_parser(
        "plan",
        help="print a spec's sections and assertions; --preview: projected requests and cost",
        description="Decompose the spec into sections and assertions exactly as `msm generate` "
        "does, without calling any backend (doc types and ideas come from the backend at "
        "generation time). --preview prints projected requests per level (sections x doc types "
        "x ideas x documents per idea), estimated tokens and the cost per priced model.",
    )
    plan.add_argument("name", help="spec name (specs/NAME.md) or a path")
    plan.add_argument("--preview", action="store_true", help="counts, tokens and cost only")
    plan.add_argument("--specs-dir", type=Path, default=Path("specs"))
    plan.add_argument("--params", type=Path, default=Path("params.yaml"))
    plan.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="prices")


def run(args: argparse.Namespace) -> None:
    if args.spec_command == "lint":
        from pipeline.config.params import load_params

        min_words = load_params(args.params, specs_dir=None).generate.min_assertion_words
        files = args.files or sorted(Path("specs").glob("*.md"))
        bad = 0
        for f in files:
            try:
                spec = load_spec(f)
                plan_of(spec, min_words)
                print(f"ok   {f} ({spec.kind}, {len(spec.sections)} sections, {spec.words} words)")
            except SpecError as err:
                bad += 1
                print(f"FAIL {err}", file=sys.stderr)
        if bad:
            raise CheckFailed(f"{bad} of {len(files)} spec(s) failed the lint (listed above)")
        return
    path = Path(args.name) if args.name.endswith(".md") else args.specs_dir / f"{args.name}.md"
    spec = load_spec(path)
    if args.spec_command == "plan":
        _plan(spec, args)
        return
    print(f"{spec.name}: {spec.title} (kind: {spec.kind}, {spec.words} words)")
    print(f"overview: {len(spec.overview.split())} words")
    for s in spec.sections:
        print(f"  {'  ' * (s.level - 2)}{s.id}  [{len(s.text.split())} words]")
    for r in spec.rules:
        print(f"  rule {r.id} (in {r.section_id}): {r.text}")
    subs = decompose(spec)
    print(f"plan sections: {len(subs)}, assertions: {sum(len(s.assertions) for s in subs)}")


def _plan(spec, args: argparse.Namespace) -> None:
    from pipeline.config.params import load_params
    from pipeline.config.run import load_run_config
    from pipeline.generate.preview import preview, render
    from pipeline.generate.stage import build_plan
    from pipeline.io import dump_json

    params = load_params(args.params, specs_dir=None)
    if args.preview:
        print(render(preview(spec, params.generate, params.seed, load_run_config(args.run_config))))
        return
    sections = build_plan(spec, params.generate)
    plan = {
        "spec": spec.name,
        "sections": [s.to_json() for s in sections],
    }
    print(dump_json(plan), end="")
