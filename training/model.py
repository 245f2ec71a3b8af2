"""Loading the base model and wrapping it with LoRA adapters."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline.config.params import LoraParams


def load_base(path: Path, dtype: str = "float32", attention: str = "sdpa"):
    """The base model in train mode's configuration: no KV cache (`use_cache=False`, which Qwen
    and Llama configs turn on), and the attention implementation `attention`."""
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no model; run `dvc repro base_model` (or `dvc pull`)")
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=getattr(torch, dtype), attn_implementation=attention
    )
    model.config.use_cache = False
    return model


def decoder_layers(model) -> list[torch.nn.Module]:
    """The decoder blocks of a causal LM, plain or PEFT (the units of compile, FSDP and
    gradient checkpointing)."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return list(lm.get_decoder().layers)


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


def save_adapter(model, out: Path, state_dict: dict | None = None) -> None:
    """Save a LoRA adapter deterministically into an (empty, temporary) folder `out`.

    peft keeps `target_modules` as a set, so its order in adapter_config.json follows Python's
    per-process string hashing; it is sorted here so that equal adapters give equal files. peft's
    model-card template (README.md) is not an output.
    """
    model.save_pretrained(out, state_dict=state_dict)
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


def is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file()


def load_trained(base: Path, msm: Path, aft: Path | None = None, dtype: str = "float32"):
    """The model after MSM (and AFT): `msm` is a LoRA adapter on `base` or, after full
    fine-tuning, a whole model; `aft` is an adapter (the MSM adapter continued, or a new one on
    the fully fine-tuned MSM model)."""
    model = load_base(msm if not is_adapter(msm) else base, dtype)
    adapter = aft if aft is not None else (msm if is_adapter(msm) else None)
    return model if adapter is None else with_adapter(model, adapter, trainable=False)
