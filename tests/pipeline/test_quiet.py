"""Quiet by default: deprecation notices that libraries raise about their own calls stay out of
the log, warnings raised at our call sites and everything under `msm -v` still show."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, warnings
import peft, transformers
from pipeline.cli import quiet_library_warnings
if sys.argv[1] == "quiet":
    quiet_library_warnings()
config = transformers.LlamaConfig(
    vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    num_attention_heads=2, num_key_value_heads=2,
)
model = transformers.LlamaForCausalLM(config)
peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["q_proj"]))  # peft -> transformers
warnings.warn("ours: this call is deprecated", FutureWarning)  # attributed to this script
"""


def run(mode: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_library_deprecations_are_hidden_and_ours_are_not() -> None:
    loud = run("loud")
    assert "`is_gradient_checkpointing` is deprecated" in loud  # the library notice is real
    quiet = run("quiet")
    assert "is_gradient_checkpointing" not in quiet
    assert "ours: this call is deprecated" in quiet
