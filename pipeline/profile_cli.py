"""`msm profile NAME`: the `-S key=value` flags that switch params.yaml to a checked-in profile.

A profile (`profiles/<name>.yaml`) has the shape of params.yaml and holds only the keys it
changes. The flags are printed on one line for `dvc exp run`, which records them with the
experiment and leaves params.yaml's other keys as they are:

    dvc exp run $(msm profile paper) -S model.name=Qwen/Qwen2.5-1.5B

The profile is checked first: merged over params.yaml, it must pass the same validation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from pipeline.config.overlay import load_overlay, merge, set_flags
from pipeline.config.params import load_params, params_from_mapping
from pipeline.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="profile name (profiles/<name>.yaml); none: list them")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--profiles", type=Path, default=Path("profiles"))


def run(args: argparse.Namespace) -> None:
    known = sorted(p.stem for p in args.profiles.glob("*.yaml"))
    if not args.name:
        print("\n".join(known))
        return
    path = args.profiles / f"{args.name}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such profile; known profiles: {', '.join(known) or '-'}")
    print(" ".join(profile_flags(path, args.params)))


def profile_flags(path: Path, params_path: Path) -> list[str]:
    overlay = load_overlay(path)
    load_params(params_path)
    base = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params_from_mapping(merge(base, overlay, path), path)
    return set_flags(overlay, path)
