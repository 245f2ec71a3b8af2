"""`msm params`: validate params.yaml (and that every listed spec has a file) and print it."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import load_params, to_dict
from pipeline.io import dump_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--specs-dir", type=Path, default=Path("specs"))
    p.add_argument("--show", action="store_true", help="print the params with defaults filled in")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params, args.specs_dir)
    if args.show:
        print(dump_json(to_dict(params)), end="")
    else:
        print(f"{args.params}: OK ({len(params.specs)} specs, active spec {params.spec})")
