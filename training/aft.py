"""`msm train-aft`: alignment fine-tuning (SFT with trl), after MSM or on the base model alone.

With `--msm`, AFT continues the MSM adapter (or, after full MSM fine-tuning, trains a new adapter
on the MSM model): the `train_aft` stage, arm `aft` (MSM + AFT). Without it, a new adapter is
trained on the base model: the `train_aft_only` stage, arm `aft_only`, which depends on neither
the MSM model nor the active spec, so DVC's run cache serves one AFT-only model to every spec's
experiment.

Loss is on the completion (the assistant turn) only. `train_aft.cot` chooses the chats with
their reasoning (`data/aft/cot.parquet`: `<think>...</think>` then the answer) or without it
(`no_cot.parquet`); both are written by `msm aft-data`, rows in rank order, so
`train_aft.max_tokens` (a token budget, for studies that match AFT tokens across specs) keeps a
nested prefix. Tiny CPU run: the default profile.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import PrinterCallback, TrainerCallback
from trl import SFTConfig, SFTTrainer

from pipeline.config.params import TrainAftParams, TrainParams, load_params
from pipeline.errors import InputError
from pipeline.io import atomic_dir, write_json
from training.model import (
    is_adapter,
    load_base,
    load_tokenizer,
    save_adapter,
    with_adapter,
    with_new_lora,
)
from training.progress import Meter

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--base", type=Path, required=True)
    p.add_argument(
        "--msm", type=Path, help="MSM adapter or model folder to continue (left out: AFT only)"
    )
    p.add_argument(
        "--data", type=Path, required=True, help="AFT data folder (cot.parquet, no_cot.parquet)"
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    train_aft(
        args.base,
        args.msm,
        args.data,
        args.out,
        args.metrics,
        params.train_aft,
        params.train_seed,
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


def sft_trainer(model, tokenizer, dataset, tp: TrainAftParams, seed: int, out: str) -> SFTTrainer:
    """trl's SFTTrainer on prompt/completion chats: the loss on the assistant turn only (the
    tokens after the chat template's generation prompt), one chat per row (no packing)."""
    config = SFTConfig(
        **training_arguments(tp, seed, out),
        max_length=tp.max_length,
        completion_only_loss=True,
        packing=False,
    )
    return SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)


class _Steps(TrainerCallback):
    """Advances a `Meter` at the end of every optimizer step."""

    def __init__(self, meter: Meter):
        self.meter = meter

    def on_step_end(self, args, state, control, **kwargs):
        self.meter.advance(1)


def within_budget(dataset, tokenizer, max_tokens: int):
    """The longest prefix of `dataset` whose chats (prompt + completion, under the chat
    template) total at most `max_tokens`; all of it for 0. Returns it and the token counts."""
    lengths = [
        len(
            tokenizer.apply_chat_template(
                row["prompt"] + row["completion"], tokenize=True, return_dict=True
            )["input_ids"]
        )
        for row in dataset
    ]
    total = sum(lengths)
    if not max_tokens:
        return dataset, {"tokens": total, "token_budget": 0, "token_shortfall": 0}
    kept = used = 0
    while kept < len(lengths) and used + lengths[kept] <= max_tokens:
        used += lengths[kept]
        kept += 1
    if kept == 0:
        raise InputError(
            f"train_aft.max_tokens {max_tokens} is below the first chat's {lengths[0]} tokens; "
            "raise the budget or set 0 (every chat)"
        )
    return dataset.select(range(kept)), {
        "tokens": used,
        "token_budget": max_tokens,
        "token_shortfall": max(0, max_tokens - total),
    }


def train_aft(
    base: Path,
    msm: Path | None,
    data: Path,
    out: Path,
    metrics: Path,
    tp: TrainAftParams,
    seed: int,
    dtype: str,
) -> dict:
    torch.manual_seed(seed)
    chats = data / ("cot.parquet" if tp.cot else "no_cot.parquet")
    dataset = load_dataset("parquet", data_files=str(chats), split="train")
    # trl reads the conversational prompt/completion columns; the provenance columns stay in
    # the data files
    dataset = dataset.select_columns(["prompt", "completion"])
    tokenizer = load_tokenizer(base)
    dataset, budget = within_budget(dataset, tokenizer, tp.max_tokens)
    if msm is None:  # AFT only: a new adapter on the base model
        model = with_new_lora(load_base(base, dtype), tp.lora)
    elif is_adapter(msm):  # continue the MSM adapter
        model = with_adapter(load_base(base, dtype), msm, trainable=True)
    else:  # MSM trained every weight: a new adapter on the MSM model
        model = with_new_lora(load_base(msm, dtype), tp.lora)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = sft_trainer(model, tokenizer, dataset, tp, seed, tmp)
        trainer.remove_callback(PrinterCallback)  # a printed dict per step
        with Meter("train_aft", tp.max_steps, "steps") as meter:
            trainer.add_callback(_Steps(meter))
            trainer.train()
    stats = summarize(trainer.state.log_history, tp)
    stats["train_samples"] = len(dataset)
    stats["chats"] = chats.name
    stats.update(budget)
    with atomic_dir(out) as tmp_out:
        save_adapter(model, tmp_out)
    write_json(metrics, stats)
    log.info("train_aft: %s", stats)
    return stats
