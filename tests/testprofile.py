"""The suite's params: `tests/params.yaml`, read by the product's loader.

`section("dedup", threshold=0.8)` is that section with the given fields replaced. The profile is
the tests' own, so a study's settings in the repository's params.yaml never change a test.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.config.params import Params, load_params

PARAMS: Params = load_params(Path(__file__).with_name("params.yaml"), specs_dir=None)


def section(name: str, **changes: Any) -> Any:
    return replace(getattr(PARAMS, name), **changes)
