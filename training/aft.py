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
nested prefix. How fast a step runs (padding-free batches, Liger, attention, bf16 on a GPU
only) comes from `run.yaml` `training:` and never changes the recipe: see `training.sft`. Tiny
CPU run: the default profile.

`--metrics` is a folder in the layout `train_msm` writes (`training.curves`, dvclive's):
`plots/metrics/{loss,lr,grad_norm}.tsv`, one row per optimizer step as trl's trainer logs it,
and `metrics.json` (the last step, and the run's summary under `run`). Timings the trainer logs
(runtime, samples/s) are left out, so the CPU run's files are byte-identical from run to run.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import PrinterCallback, TrainerCallback

from pipeline.config.params import TrainAftParams, TrainParams, load_params
from pipeline.config.run import TrainingSettings, load_run_config
from pipeline.errors import InputError
from pipeline.io import atomic_dir
from training.curves import write_curves
from training.model import (
    is_adapter,
    load_base,
    load_tokenizer,
    save_adapter,
    with_adapter,
    with_new_lora,
)
from training.progress import Meter
from training.sft import sft_speed, sft_trainer

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="run settings")
    p.add_argument("--base", type=Path, required=True)
    p.add_argument(
        "--msm", type=Path, help="MSM adapter or model folder to continue (left out: AFT only)"
    )
    p.add_argument(
        "--data", type=Path, required=True, help="AFT data folder (cot.parquet, no_cot.parquet)"
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--metrics",
        type=Path,
        required=True,
        help="folder for the curves (plots/metrics/*.tsv) and metrics.json",
    )


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    settings = load_run_config(args.run_config).training
    train_aft(
        args.base,
        args.msm,
        args.data,
        args.out,
        args.metrics,
        params.train_aft,
        params.train_seed,
        params.model.dtype,
        settings,
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


CURVES = {"loss": "loss", "learning_rate": "lr", "grad_norm": "grad_norm"}
"""trl's per-step log keys -> the curve names `train_msm` uses."""


def step_curves(log_history: list[dict]) -> list[dict]:
    """The per-step records of a trainer's `log_history` (`logging_steps=1`) as curves: loss,
    learning rate and gradient norm, rounded as `train_msm` rounds them. The run's closing
    entry (runtime, samples/s: wall time) and trl's token counts are not curves here."""
    out = []
    for entry in log_history:
        if "loss" not in entry:
            continue
        record = {"step": int(entry["step"])}
        for key, name in CURVES.items():
            if entry.get(key) is not None:
                value = float(entry[key])
                record[name] = value if name == "lr" else round(value, 6)
        out.append(record)
    return out


class _Steps(TrainerCallback):
    """Advances a `Meter` at the end of every optimizer step."""

    def __init__(self, meter: Meter):
        self.meter = meter

    def on_step_end(self, args, state, control, **kwargs):
        self.meter.advance(1)


def chat_lengths(dataset, tokenizer) -> list[int]:
    """Tokens of every chat (prompt + completion) under the chat template."""
    return [
        len(
            tokenizer.apply_chat_template(
                row["prompt"] + row["completion"], tokenize=True, return_dict=True
            )["input_ids"]
        )
        for row in dataset
    ]


def within_budget(dataset, tokenizer, max_tokens: int, lengths: list[int] | None = None):
    """The longest prefix of `dataset` whose chats (prompt + completion, under the chat
    template) total at most `max_tokens`; all of it for 0. Returns it and the token counts.
    `lengths`: the chats' `chat_lengths`, when already counted."""
    if lengths is None:
        lengths = chat_lengths(dataset, tokenizer)
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
    settings: TrainingSettings | None = None,
) -> dict:
    """Train and save the AFT adapter; `settings` (run.yaml `training:`) choose only the speed
    measures (`training.sft`), default: auto."""
    torch.manual_seed(seed)
    chats = data / ("cot.parquet" if tp.cot else "no_cot.parquet")
    dataset = load_dataset("parquet", data_files=str(chats), split="train")
    # trl reads the conversational prompt/completion columns; the provenance columns stay in
    # the data files
    dataset = dataset.select_columns(["prompt", "completion"])
    tokenizer = load_tokenizer(base)
    lengths = chat_lengths(dataset, tokenizer)
    dataset, budget = within_budget(dataset, tokenizer, tp.max_tokens, lengths)
    speed = sft_speed(
        settings or TrainingSettings(),
        torch.cuda.is_available(),
        max(lengths[: len(dataset)]),
        tp.max_length,
    )
    log.info("train_aft: %s", speed)
    if msm is None:  # AFT only: a new adapter on the base model
        model = with_new_lora(load_base(base, dtype, speed.attention), tp.lora)
    elif is_adapter(msm):  # continue the MSM adapter
        model = with_adapter(load_base(base, dtype, speed.attention), msm, trainable=True)
    else:  # MSM trained every weight: a new adapter on the MSM model
        model = with_new_lora(load_base(msm, dtype, speed.attention), tp.lora)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = sft_trainer(model, tokenizer, dataset, tp, seed, tmp, speed)
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
    write_curves(metrics, step_curves(trainer.state.log_history), stats)
    log.info("train_aft: %s", stats)
    return stats
