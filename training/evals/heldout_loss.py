"""Held-out loss: the mean next-token loss on the active spec's validation shards, per arm.

Writes `<out_dir>/heldout_loss.json`: `{"models": {arm: loss}}` (null for every arm when the
shards hold no validation sequences). MSM should lower it relative to the base model. An arm
whose model and shards are unchanged since a previous run takes its loss from the eval cache
(`training/evals/results.py`).
"""

from __future__ import annotations

import json
import logging

import torch

from pipeline.io import MANIFEST, sha256_file, write_json
from training.data import IGNORE, PackedDataset
from training.evals.context import EvalContext
from training.evals.results import ResultCache
from training.progress import Meter

log = logging.getLogger(__name__)
NAME = "heldout_loss"


def run(ctx: EvalContext) -> dict:
    splits = json.loads((ctx.shards / MANIFEST).read_text())["splits"]
    dataset = None
    if splits["val"]["sequences"] == 0:
        log.warning("%s: no validation sequences; held-out loss is not computed", ctx.shards)
    else:
        dataset = PackedDataset(ctx.shards, "val", limit=ctx.params.val_sequences)
    inputs = {
        "shards": sha256_file(ctx.shards / MANIFEST),
        "val_sequences": ctx.params.val_sequences,
        "batch_size": ctx.params.batch_size,
    }
    results = ResultCache(ctx.cache, NAME, inputs, __name__, ctx.tally)
    losses = {}
    for arm in ctx.params.models:
        losses[arm] = None
        if dataset is None:
            continue
        fingerprint = ctx.arms.fingerprint(arm)
        result = results.get(arm, fingerprint)
        if result is None:
            with Meter(f"{NAME} {arm}", len(dataset), "sequences") as meter:
                loss = heldout_loss(ctx.arms.load(arm), dataset, ctx.params.batch_size, meter)
            result = {"loss": loss}
            results.put(arm, fingerprint, result)
        losses[arm] = result["loss"]
    metrics = {
        "eval": NAME,
        "ran": True,
        "spec": ctx.spec,
        "sequences": 0 if dataset is None else len(dataset),
        "models": losses,
    }
    write_json(ctx.out_dir / f"{NAME}.json", metrics)
    log.info("%s: %s", NAME, losses)
    return metrics


def skip(ctx: EvalContext) -> None:
    write_json(ctx.out_dir / f"{NAME}.json", ctx.skipped(NAME))


LOGITS_BUDGET = 2**31
"""Most logits one forward pass materializes (8 GiB in float32): a batch of long rows over a
large vocabulary (64 rows of 4,096 tokens over 152k: 40 G) goes through in fewer rows at once."""


@torch.no_grad()
def heldout_loss(model, dataset: PackedDataset, batch: int, meter: Meter | None = None) -> float:
    """The mean next-token loss over `dataset`, `batch` sequences at a time (fewer per forward
    pass where their logits would pass LOGITS_BUDGET), on the model's device."""
    total, count = 0.0, 0
    for i in range(0, len(dataset), batch):
        items = [dataset[j] for j in range(i, min(i + batch, len(dataset)))]
        ids = torch.stack([x["input_ids"] for x in items])
        labels = torch.stack([x["labels"] for x in items])
        pos = torch.stack([x["position_ids"] for x in items])
        rows = max(1, LOGITS_BUDGET // (ids.shape[1] * model.config.vocab_size))
        for r in range(0, len(items), rows):
            total += _loss_sum(model, ids[r : r + rows], labels[r : r + rows], pos[r : r + rows])
        count += int((labels[:, 1:] != IGNORE).sum())
        if meter is not None:
            meter.advance(len(items))
    return round(total / max(count, 1), 4)


def _loss_sum(model, ids: torch.Tensor, labels: torch.Tensor, pos: torch.Tensor) -> float:
    device = next(model.parameters()).device
    logits = model(input_ids=ids.to(device), position_ids=pos.to(device)).logits.float()
    lp = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)),
        labels[:, 1:].reshape(-1).to(device),
        ignore_index=IGNORE,
        reduction="sum",
    )
    return lp.item()
