"""`msm profile`: a checked-in profile becomes `-S` flags that DVC applies to params.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dvc.utils.hydra import apply_overrides

from pipeline.config.params import load_params
from pipeline.errors import ConfigError
from pipeline.profile_cli import profile_flags

ROOT = Path(__file__).resolve().parents[2]


def test_paper_profile_through_dvc_overrides(tmp_path: Path) -> None:
    flags = profile_flags(ROOT / "profiles/paper.yaml", ROOT / "params.yaml")
    params = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", params)
    # `dvc exp run -S k=v ...` hands each k=v to this function
    apply_overrides(params, [f.removeprefix("-S ") for f in flags])
    p = load_params(params, ROOT / "specs")
    tm = p.train_msm
    assert (tm.method, tm.lora.r, tm.lora.alpha, tm.lora.dropout) == ("lora", 64, 128, 0.0)
    assert tm.lora.target_modules == [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
    ]  # fmt: skip
    assert (tm.lr, tm.warmup_ratio, tm.weight_decay, tm.max_steps, tm.epochs) == (
        1e-4, 0.05, 0.01, 0, 1
    )  # fmt: skip
    assert (tm.precision, tm.log_throughput, p.pack.seq_len, p.model.dtype) == (
        "bf16", True, 4096, "bfloat16"
    )  # fmt: skip
    # keys the profile does not name keep their values
    assert p.specs == load_params(ROOT / "params.yaml", ROOT / "specs").specs


def test_profile_with_unknown_key_names_the_profile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_msm:\n  lr_peak: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*unknown key `train_msm\.lr_peak`"):
        profile_flags(bad, ROOT / "params.yaml")
    bad.write_text("train_msm:\n  precision: fp8\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: `train_msm\.precision` must be one of"):
        profile_flags(bad, ROOT / "params.yaml")
