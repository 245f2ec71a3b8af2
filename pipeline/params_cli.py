"""`msm params`: validate params.yaml (and that every listed spec has a file) and run.yaml.

`--show` prints both with every default filled in: params.yaml holds every value a stage reads,
run.yaml only what differs from the run settings' defaults.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config.params import load_params, to_dict
from pipeline.config.run import load_run_config
from pipeline.io import dump_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="run settings")
    p.add_argument("--specs-dir", type=Path, default=Path("specs"))
    p.add_argument(
        "--show", action="store_true", help="print params and run settings, defaults filled in"
    )


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params, args.specs_dir)
    run_config = load_run_config(args.run_config)
    if args.show:
        print(dump_json({"params": to_dict(params), "run": to_dict(run_config)}), end="")
    else:
        print(f"{args.params}: OK ({len(params.specs)} specs, active spec {params.spec})")
        print(f"{args.run_config}: OK" if args.run_config.is_file() else "run.yaml: defaults")
