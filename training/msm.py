"""`msm train-msm`: Model Spec Midtraining, next-token prediction on a spec's packed shards.

LoRA (the paper's recipe: r=64, alpha=128 on every attention and MLP projection) or full
fine-tuning, AdamW with warmup and cosine decay, a fixed number of tokens per optimizer step.
Attention never crosses a document boundary (`training/attention.py`); the loss is fused with the
output projection on GPUs (`training/objective.py`). Checkpoints in the stage's work folder make
a killed run resume where it stopped (`training/checkpoint.py`).

The CPU default (what `dvc repro` runs):
    msm train-msm --base models/base --shards corpora/cheese_affordability/shards \\
        --out models/msm --metrics metrics/train_msm
One GPU: the same command. Several GPUs of one host (DDP, or FSDP2 with run.yaml
`training.parallel: fsdp`):
    torchrun --nproc-per-node 8 -m pipeline.cli train-msm ...   (or `accelerate launch`)
Several hosts: `torchrun --nnodes 2 --node-rank $RANK --rdzv-endpoint $HOST:29500 ...`.

Writes `--out` (the adapter, or the whole model for `method: full`, with `training.json`: the
recipe as run, gradient accumulation and device count included) and `--metrics` (dvclive:
`metrics.json` with the run summary, `plots/metrics/*.tsv` with the per-step curves).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="run settings")
    p.add_argument("--base", type=Path, required=True, help="base model folder")
    p.add_argument("--shards", type=Path, required=True, help="shard folder of the active spec")
    p.add_argument("--out", type=Path, required=True, help="adapter (or model) folder to write")
    p.add_argument("--metrics", type=Path, required=True, help="dvclive folder for the curves")


def run(args: argparse.Namespace) -> None:
    from pipeline.config.params import load_params
    from pipeline.config.run import load_run_config

    params = load_params(args.params)  # checked before the heavy imports below
    settings = load_run_config(args.run_config).training
    check_inputs(args.base, args.shards)
    from training.train import train_msm

    train_msm(args.base, args.shards, args.out, args.metrics, params, settings)


def check_inputs(base: Path, shards: Path) -> None:
    """Fail before torch or any model is imported: the shards must verify, hold training rows
    and match the base model's tokenizer."""
    from pipeline.errors import InputError
    from pipeline.io import MANIFEST, sha256_file
    from pipeline.pack.verify import verify

    faults = verify(shards)  # a missing or foreign folder is an InputError naming its stage
    if faults:
        raise InputError(
            f"{shards}: the shards fail `msm verify` ({len(faults)} fault(s), first: {faults[0]}); "
            "rebuild them with `dvc repro` or `dvc pull`"
        )
    manifest = json.loads((shards / MANIFEST).read_text(encoding="utf-8"))
    if manifest["splits"]["train"]["sequences"] == 0:
        raise InputError(
            f"{shards}: split 'train' holds zero sequences; training on nothing is an error. "
            "Generate more documents (params.yaml `generate`) or lower `pack.val_fraction`"
        )
    if not base.is_dir():
        raise InputError(
            f"{base}: no such base model folder; run `dvc repro base_model` (or `dvc pull`)"
        )
    tokenizer = base / "tokenizer.json"
    if not tokenizer.is_file():
        raise InputError(f"{tokenizer}: missing; run `dvc repro base_model` (or `dvc pull`)")
    recorded = manifest["tokenizer"]
    actual = sha256_file(tokenizer)
    if recorded["sha256"] != actual:
        raise InputError(
            f"{shards} were tokenized with {recorded['name']!r} (tokenizer sha256 "
            f"{recorded['sha256'][:12]}), but the base model {base} has tokenizer sha256 "
            f"{actual[:12]}; rebuild the shards with the base model's tokenizer (`dvc repro`, "
            "and leave model.tokenizer empty) or choose the matching base model"
        )
