"""`msm train-msm`: Model Spec Midtraining, next-token prediction on the packed shards, with LoRA.

Tiny CPU run (the default profile): `msm train-msm --base models/base \
    --shards corpora/cheese_affordability/shards --out models/msm --metrics metrics/train_msm.json`.
The same command runs on GPUs under `accelerate launch`/`torchrun`.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch
from transformers import Trainer, TrainingArguments

from pipeline.config.params import TrainParams, load_params
from pipeline.io import atomic_dir, write_json
from training.data import PackedCollator, PackedDataset
from training.model import load_base, save_adapter, with_new_lora

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--base", type=Path, required=True, help="base model folder")
    p.add_argument("--shards", type=Path, required=True, help="shard folder of the active spec")
    p.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    p.add_argument("--metrics", type=Path, required=True, help="training metrics JSON")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    train_msm(
        args.base,
        args.shards,
        args.out,
        args.metrics,
        params.train_msm,
        params.seed,
        params.model.dtype,
    )


def training_arguments(tp: TrainParams, seed: int, out: str, **extra) -> dict:
    """Keyword arguments shared by the MSM (Trainer) and AFT (SFTTrainer) configs."""
    cuda = torch.cuda.is_available()
    return dict(
        output_dir=out,
        max_steps=tp.max_steps,
        per_device_train_batch_size=tp.batch_size,
        gradient_accumulation_steps=tp.grad_accum,
        learning_rate=tp.lr,
        lr_scheduler_type="cosine",
        warmup_steps=tp.warmup_ratio,  # a float below 1 is a ratio of max_steps
        weight_decay=tp.weight_decay,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        use_cpu=not cuda,
        bf16=cuda,
        # On CPU, gradient checkpointing makes each step ~20x slower for no memory need here.
        gradient_checkpointing=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **extra,
    )


def summarize(history: list[dict], tp: TrainParams, tokens_per_step: int | None = None) -> dict:
    losses = [h["loss"] for h in history if "loss" in h]
    out = {
        "steps": tp.max_steps,
        "loss_first": round(losses[0], 4) if losses else None,
        "loss_last": round(losses[-1], 4) if losses else None,
        "sequences_seen": tp.max_steps * tp.batch_size * tp.grad_accum,
    }
    if tokens_per_step:
        out["tokens_seen"] = tp.max_steps * tokens_per_step
    return out


def train_msm(
    base: Path, shards: Path, out: Path, metrics: Path, tp: TrainParams, seed: int, dtype: str
) -> dict:
    torch.manual_seed(seed)
    dataset = PackedDataset(shards, "train")
    model = with_new_lora(load_base(base, dtype), tp.lora)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(**training_arguments(tp, seed, tmp, remove_unused_columns=False))
        trainer = Trainer(
            model=model, args=args, train_dataset=dataset, data_collator=PackedCollator()
        )
        trainer.train()
    stats = summarize(
        trainer.state.log_history,
        tp,
        tokens_per_step=tp.batch_size * tp.grad_accum * dataset.seq_len,
    )
    stats["train_sequences"] = len(dataset)
    with atomic_dir(out) as tmp_out:
        save_adapter(model, tmp_out)
    write_json(metrics, stats)
    log.info("train_msm: %s", stats)
    return stats
