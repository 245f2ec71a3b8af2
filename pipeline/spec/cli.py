"""`msm spec lint [FILES]` and `msm spec show NAME`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.spec.decompose import decompose
from pipeline.spec.parse import SpecError, load_spec


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="spec_command", required=True, metavar="ACTION")
    lint = sub.add_parser("lint", help="validate spec files (default: specs/*.md)")
    lint.add_argument("files", nargs="*", type=Path)
    show = sub.add_parser("show", help="print a spec's sections, rules and word counts")
    show.add_argument("name", help="spec name (specs/NAME.md) or a path")
    show.add_argument("--specs-dir", type=Path, default=Path("specs"))


def run(args: argparse.Namespace) -> None:
    if args.spec_command == "lint":
        files = args.files or sorted(Path("specs").glob("*.md"))
        bad = 0
        for f in files:
            try:
                spec = load_spec(f)
                print(f"ok   {f} ({spec.kind}, {len(spec.sections)} sections, {spec.words} words)")
            except SpecError as err:
                bad += 1
                print(f"FAIL {err}", file=sys.stderr)
        if bad:
            raise SystemExit(1)
        return
    path = Path(args.name) if args.name.endswith(".md") else args.specs_dir / f"{args.name}.md"
    spec = load_spec(path)
    print(f"{spec.name}: {spec.title} (kind: {spec.kind}, {spec.words} words)")
    print(f"overview: {len(spec.overview.split())} words")
    for s in spec.sections:
        print(f"  {'  ' * (s.level - 2)}{s.id}  [{len(s.text.split())} words]")
    for r in spec.rules:
        print(f"  rule {r.id} (in {r.section_id}): {r.text}")
    subs = decompose(spec)
    print(f"subdomains: {len(subs)}, assertions: {sum(len(s.assertions) for s in subs)}")
