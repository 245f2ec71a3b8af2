"""The suite's params: `tests/params.yaml`, read by the product's loader.

`section("dedup", threshold=0.8)` is that section with the given fields replaced. The profile is
the tests' own, so a study's settings in the repository's params.yaml never change a test.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.config.params import Params, load_params, to_dict

PARAMS: Params = load_params(Path(__file__).with_name("params.yaml"), specs_dir=None)


def section(name: str, **changes: Any) -> Any:
    return replace(getattr(PARAMS, name), **changes)


def write_params(path: Path, **changes: Any) -> Path:
    """Write the profile to `path` as a params.yaml, with `changes` merged in (nested mappings
    merge key by key: `generate={"revise": True}` changes that one key)."""
    path.write_text(yaml.safe_dump(_merge(to_dict(PARAMS), changes), sort_keys=False))
    return path


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and k in base else v
    return out
