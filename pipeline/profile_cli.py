"""`msm profile NAME`: the `-S key=value` flags that switch params.yaml to a checked-in profile.

A profile (`profiles/<name>.yaml`) has the shape of params.yaml and holds only the keys it
changes. The flags are printed on one line for `dvc exp run`, which records them with the
experiment and leaves params.yaml's other keys as they are:

    dvc exp run $(msm profile paper) -S model.name=Qwen/Qwen2.5-1.5B

The profile is checked first: merged over params.yaml, it must pass the same validation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

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
    overlay = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(overlay, dict):
        raise ConfigError(f"{path}: a profile is a mapping shaped like params.yaml")
    load_params(params_path)
    base = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params_from_mapping(_merge(base, overlay, path), path)
    flags = []
    for key, value in _flatten(overlay):
        text = _format(value)
        if any(c.isspace() for c in text):
            raise ConfigError(f"{path}: `{key}` holds whitespace, which a flag cannot carry")
        flags.append(f"-S {key}={text}")
    return flags


def _merge(base: dict, over: dict, path: Path, prefix: str = "") -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                raise ConfigError(f"{path}: `{prefix}{key}` is not a section of params.yaml")
            out[key] = _merge(base[key], value, path, f"{prefix}{key}.")
        else:
            out[key] = value
    return out


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _format(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_format(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else "''"
    return json.dumps(value)
