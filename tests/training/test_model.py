"""Adapters are saved byte-identically whatever Python's string-hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SAVE = """
import sys, torch
from pathlib import Path
from transformers import LlamaConfig, LlamaForCausalLM
from training.model import save_adapter, with_new_lora
from pipeline.config.params import LoraParams
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2)
model = with_new_lora(
    LlamaForCausalLM(cfg),
    LoraParams(r=2, alpha=4, dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]),
)
out = Path(sys.argv[1]); out.mkdir()
save_adapter(model, out)
"""


def test_adapter_files_do_not_depend_on_hash_seed(tmp_path: Path) -> None:
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run(
            [sys.executable, "-c", SAVE, str(tmp_path / seed)], env=env, check=True, timeout=120
        )
    a, b = tmp_path / "1", tmp_path / "2"
    assert sorted(p.name for p in a.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
