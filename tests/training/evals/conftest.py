"""Arms for the eval tests: the tiny random Llama of `tiny.py` (fast, no chat template) and the
real base model (SmolLM2-135M-Instruct, built by the project's own code from the cached wheel,
~25 s once per session), each with MSM / AFT adapters of random, non-zero LoRA weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.config.params import LoraParams
from training.model import load_base, save_adapter, with_new_lora


def _adapter(base: Path, out: Path, seed: int) -> Path:
    model = with_new_lora(load_base(base), LoraParams(2, 4, 0.0, ["q_proj", "v_proj"]))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # LoRA starts as the identity (B = 0): give it a real effect
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    out.mkdir(parents=True)
    save_adapter(model, out)
    return out


@pytest.fixture(scope="session")
def smollm2(smollm2_base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    msm = _adapter(smollm2_base, tmp_path_factory.mktemp("smollm2-msm") / "msm", 1)
    return {"base": smollm2_base, "msm": msm, "aft": msm, "shards": Path("unused")}


@pytest.fixture(scope="session")
def tiny_arms(tiny: dict[str, Path]) -> dict[str, Path]:
    root = tiny["root"]
    return {
        "base": tiny["base"],
        "msm": _adapter(tiny["base"], root / "msm-adapter", 1),
        "aft": _adapter(tiny["base"], root / "aft-adapter", 2),
        "aft_only": _adapter(tiny["base"], root / "aft-only-adapter", 3),
        "shards": tiny["shards"],
    }


@pytest.fixture(scope="session")
def make_adapter():
    """`make_adapter(base, out, seed)`: a LoRA adapter of random, non-zero weights at `out`."""
    return _adapter
