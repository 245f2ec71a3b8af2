"""`msm train-aft`: alignment fine-tuning (SFT with trl), continuing the MSM adapter.

Loss is on the completion (the assistant turn) only. Tiny CPU run: the default profile.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

from pipeline.config.params import TrainAftParams, load_params
from pipeline.io import atomic_dir, write_json
from training.model import load_base, load_tokenizer, save_adapter, with_adapter
from training.msm import summarize, training_arguments

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--msm", type=Path, required=True, help="MSM adapter folder")
    p.add_argument("--data", type=Path, required=True, help="AFT data folder (train.jsonl)")
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
        params.seed,
        params.model.dtype,
    )


def train_aft(
    base: Path,
    msm: Path,
    data: Path,
    out: Path,
    metrics: Path,
    tp: TrainAftParams,
    seed: int,
    dtype: str,
) -> dict:
    torch.manual_seed(seed)
    dataset = load_dataset("json", data_files=str(data / "train.jsonl"), split="train")
    tokenizer = load_tokenizer(base)
    model = with_adapter(load_base(base, dtype), msm, trainable=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = SFTConfig(
            **training_arguments(tp, seed, tmp),
            max_length=tp.max_length,
            completion_only_loss=True,
            packing=False,
        )
        trainer = SFTTrainer(
            model=model, args=config, train_dataset=dataset, processing_class=tokenizer
        )
        trainer.train()
    stats = summarize(trainer.state.log_history, tp)
    stats["train_samples"] = len(dataset)
    with atomic_dir(out) as tmp_out:
        save_adapter(model, tmp_out)
    write_json(metrics, stats)
    log.info("train_aft: %s", stats)
    return stats
