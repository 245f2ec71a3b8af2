"""Assemble an MSM run: model, kernels, devices, plan, checkpoints; then train and write outputs.

Choices that change speed and memory only come from run.yaml `training:` (`TrainingSettings`);
the recipe from params.yaml `train_msm`. On a GPU the defaults are bf16 autocast, flex attention
with a block-causal `BlockMask`, each decoder layer compiled, fused AdamW and Liger's fused linear
cross-entropy when liger-kernel is installed (`pip install -e '.[gpu]'`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

from pipeline.config.params import Params, TrainMsmParams, to_dict
from pipeline.config.run import TrainingSettings
from pipeline.deps import closure
from pipeline.execution.workdir import work_dir
from pipeline.io import MANIFEST, atomic_dir, sha256_file
from training.checkpoint import Checkpoints
from training.curves import write_curves
from training.data import PackedDataset
from training.distributed import World, close, init_world, wrap
from training.flops import matmul_params, peak_flops
from training.loop import Runtime, build_optimizer, plan_steps, train
from training.model import decoder_layers, load_base, save_adapter, with_new_lora
from training.objective import PackedLM, fused_loss_available

log = logging.getLogger(__name__)


def _resolve(setting: str, default: bool, what: str) -> bool:
    if setting == "auto":
        return default
    if setting == "always" and not default and what == "liger":
        raise RuntimeError("run.yaml `training.liger: always` needs liger-kernel and a GPU")
    return setting == "always"


def load_dtype(tp: TrainMsmParams) -> str:
    # frozen base weights need no fp32 master copy; trained ones keep it (autocast computes bf16)
    return "bfloat16" if tp.precision == "bf16" and tp.method == "lora" else "float32"


def attention_for(settings: TrainingSettings, device: torch.device) -> str:
    if settings.attention != "auto":
        return settings.attention
    return "flex_attention" if device.type == "cuda" else "sdpa"


def prepare(model, tp: TrainMsmParams, settings: TrainingSettings, world: World, attention: str):
    """Adapters, activation checkpointing, device, compiled layers, the fused loss and the
    distributed wrapper around a loaded base model; returns (model, wrapped `PackedLM`)."""
    cuda = world.device.type == "cuda"
    bf16 = tp.precision == "bf16"
    if tp.method == "lora":
        model = with_new_lora(model, tp.lora)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.to(world.device)
    layers = decoder_layers(model)
    compiled = _resolve(settings.compile, cuda, "compile")
    if compiled:
        for layer in layers:
            layer.compile()
    fused = _resolve(settings.liger, fused_loss_available(), "liger")
    module = PackedLM(model, fused_loss=fused, compute_dtype=torch.bfloat16 if bf16 else None)
    (log.info if world.main else log.debug)(
        "train_msm: %s on %s x%d, attention %s, bf16 %s, compiled %s, fused loss %s",
        tp.method, world.device.type, world.size, attention, bf16, compiled, fused,
    )  # fmt: skip
    return model, wrap(module, layers, world, settings.parallel, bf16)


def runtime(module, tp: TrainMsmParams, plan, world: World, attention: str) -> Runtime:
    trainable = [p for p in module.parameters() if p.requires_grad]
    optimizer, scheduler = build_optimizer(
        trainable, tp, plan.total_steps, world.device.type == "cuda"
    )
    return Runtime(
        module, trainable, optimizer, scheduler, world, attention, tp.precision == "bf16"
    )


def flop_shape(model, tp: TrainMsmParams) -> dict:
    cfg = model.config
    heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    return {
        "n_params": matmul_params(model),
        "layers": cfg.num_hidden_layers,
        "q_width": heads * head_dim,
        "full": tp.method == "full",
    }


def train_msm(
    base: Path,
    shards: Path,
    out: Path,
    metrics: Path,
    params: Params,
    settings: TrainingSettings,
) -> dict:
    tp = params.train_msm
    if settings.threads:
        torch.set_num_threads(settings.threads)
    world = init_world()
    try:
        torch.manual_seed(params.train_seed)
        dataset = PackedDataset(shards, "train")
        plan = plan_steps(tp, dataset.seq_len, len(dataset), world.size, params.train_seed)
        attention = attention_for(settings, world.device)
        base_model = load_base(base, load_dtype(tp), attention)
        model, module = prepare(base_model, tp, settings, world, attention)
        rt = runtime(module, tp, plan, world, attention)
        key_params = {
            "train_msm": to_dict(tp),
            "train_seed": params.train_seed,
            "dtype": params.model.dtype,
        }
        folder = work_dir(
            "train_msm", [base / MANIFEST, shards / MANIFEST], key_params, closure("training.msm")
        ).path
        checkpoints = Checkpoints(folder, world)
        shape = flop_shape(model, tp)
        history = train(
            rt, dataset, plan, tp, checkpoints, settings.checkpoint_every, shape,
            peak_flops(world.device),
        )  # fmt: skip
        state = get_model_state_dict(
            module,
            options=StateDictOptions(
                full_state_dict=world.size > 1,
                cpu_offload=world.size > 1,
                ignore_frozen_params=tp.method == "lora",
            ),
        )
        summary = summarize(history, plan, len(dataset), world)
        if world.main:
            recipe = {
                "train_msm": to_dict(tp),
                "train_seed": params.train_seed,
                "grad_accum": plan.grad_accum,
                "devices": world.size,
                "rows_per_step": plan.rows,
                "base": sha256_file(base / MANIFEST),
                "shards": sha256_file(shards / MANIFEST),
            }
            save_trained(model, state, tp, params.model.dtype, out, recipe)
            write_curves(metrics, history, summary)
            checkpoints.remove()
            log.info("train_msm: %s", summary)
        return summary
    finally:
        close(world)


def summarize(history: list[dict], plan, rows: int, world: World) -> dict:
    return {
        "steps": plan.total_steps,
        "loss_first": history[0]["loss"] if history else None,
        "loss_last": history[-1]["loss"] if history else None,
        "tokens_seen": sum(h["tokens"] for h in history),
        "train_rows": rows,
        "rows_per_step": plan.rows,
        "rows_unseen_per_epoch": plan.rows_unseen_per_epoch,
    }


def save_trained(model, state: dict, tp: TrainMsmParams, dtype: str, out: Path, recipe) -> None:
    """The adapter (LoRA) or the whole model (full), from the (gathered) `state` of `PackedLM`."""
    state = {k.removeprefix("model."): v for k, v in state.items()}
    with atomic_dir(out) as tmp:
        if tp.method == "lora":
            save_adapter(model, tmp, state_dict=state)
        else:
            target = getattr(torch, dtype)
            model.save_pretrained(tmp, state_dict={k: v.to(target) for k, v in state.items()})
        (tmp / "training.json").write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")
