"""Start-up: the corpus stages import only what they use, never the training stack."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.cli import COMMANDS

HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "datasets")
TRAINING = {"train-msm", "train-aft", "evaluate"}
LIGHT = sorted(module for name, (module, _) in COMMANDS.items() if name not in TRAINING)


def heavy_modules(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The `heavy` packages in sys.modules after running `code` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_light_stage_modules_do_not_import_the_training_stack() -> None:
    assert "pipeline.dedup.stage" in LIGHT and "pipeline.quality.stage" in LIGHT
    assert heavy_modules("\n".join(f"import {m}" for m in LIGHT)) == []


def test_dedup_and_quality_runs_do_not_import_the_training_stack(
    tmp_path: Path, make_records: Callable[..., Path]
) -> None:
    words = "Claude keeps the cheddar notes short and plain for the readers of this memo"
    make_records(tmp_path / "in", [(f"d{i}", f"{words} number {i}.") for i in range(5)])
    code = f"""
from pathlib import Path
from pipeline.config.params import load_params
from pipeline.dedup.stage import dedup
from pipeline.quality.filters import Context, first_reasons
dp = load_params(specs_dir=None).dedup
dedup(Path({str(tmp_path / "in" / "documents.parquet")!r}), Path({str(tmp_path / "out")!r}), dp,
      work_root=Path({str(tmp_path / "work")!r}))
first_reasons(["{words}."], load_params(specs_dir=None).quality, Context(model_name="Claude"))
"""
    # pyarrow imports pandas (0.16 s) at its first conversion of Python or NumPy values, and
    # pyarrow.dataset at import: the stages build their arrays from buffers instead
    assert heavy_modules(code, (*HEAVY, "pandas", "pyarrow.dataset")) == []
