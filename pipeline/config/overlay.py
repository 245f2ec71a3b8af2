"""Params overlays: mappings shaped like params.yaml that hold only the keys they change.

A profile (`profiles/<name>.yaml`) and a study's settings (`studies/<name>.yaml`) are overlays.
`merge` lays one over params.yaml (checking every section it names exists), and `set_flags`
turns one into the `-S key=value` flags that `dvc exp run` records with an experiment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError


def merge(base: dict, over: dict, path: Path, prefix: str = "") -> dict:
    """`over` laid over `base`, key by key; a mapping in `over` must be a section in `base`."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                raise ConfigError(f"{path}: `{prefix}{key}` is not a section of params.yaml")
            out[key] = merge(base[key], value, path, f"{prefix}{key}.")
        else:
            out[key] = value
    return out


def flatten(tree: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, leaf value) for every leaf of `tree`."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def set_flags(overlay: dict, path: Path) -> list[str]:
    """`-S key=value` for each leaf, as typed in a shell."""
    return [f"-S {a}" for a in assignments(overlay, path)]


def assignments(overlay: dict, path: Path) -> list[str]:
    """`key=value` for each leaf, the value formatted as DVC parses it back (YAML flow style)."""
    out = []
    for key, value in flatten(overlay):
        text = flag_value(value)
        if any(c.isspace() for c in text):
            raise ConfigError(f"{path}: `{key}` holds whitespace, which a flag cannot carry")
        out.append(f"{key}={text}")
    return out


def flag_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(flag_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else "''"
    return json.dumps(value)


def load_overlay(path: Path) -> dict:
    """The overlay in `path` (a profile); an empty file is an empty overlay."""
    try:
        overlay = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(overlay, dict):
        raise ConfigError(f"{path}: a profile is a mapping shaped like params.yaml")
    return overlay
