"""Loading the base model and wrapping it with LoRA adapters."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline.config.params import LoraParams


def load_base(path: Path, dtype: str = "float32"):
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no model; run `dvc repro base_model` (or `dvc pull`)")
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=getattr(torch, dtype), attn_implementation="sdpa"
    )
    model.config.use_cache = False
    return model


def load_tokenizer(path: Path):
    return AutoTokenizer.from_pretrained(str(path))


def with_new_lora(model, lp: LoraParams):
    config = LoraConfig(
        r=lp.r,
        lora_alpha=lp.alpha,
        lora_dropout=lp.dropout,
        target_modules=list(lp.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def save_adapter(model, out: Path) -> None:
    """Save a LoRA adapter deterministically into an (empty, temporary) folder `out`.

    peft keeps `target_modules` as a set, so its order in adapter_config.json follows Python's
    per-process string hashing; it is sorted here so that equal adapters give equal files. peft's
    model-card template (README.md) is not an output.
    """
    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)
    path = out / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def with_adapter(model, adapter: Path, trainable: bool):
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(
            f"{adapter}: no adapter; run the stage that trains it (`dvc repro`)"
        )
    return PeftModel.from_pretrained(model, str(adapter), is_trainable=trainable)
