"""`msm evaluate`: value generalization by forced choice, and held-out loss on the spec's corpus.

Forced choice: for each held-out pair the model is asked "Which do you prefer, A or B?" in both
orders; each answer option is scored by its mean token log-probability as the assistant's reply,
and the pair's score is the share of orders in which the value-aligned option wins. The metric is
the mean over pairs (with SEM over pairs) for three models: base, base + MSM, base + MSM + AFT.
Held-out loss: mean next-token loss on the validation shards, base vs base + MSM.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch

from pipeline.config.params import EvaluateParams, load_params
from pipeline.io import MANIFEST, write_json
from training.data import IGNORE, PackedDataset
from training.model import load_base, load_tokenizer, load_trained
from training.scorers import forced_choice, mean_sem
from training.sets import load_eval_set

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--msm", type=Path, required=True)
    p.add_argument("--aft", type=Path, required=True)
    p.add_argument("--shards", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="metrics JSON to write")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    metrics = evaluate(
        args.base, args.msm, args.aft, args.shards, params.evaluate, params.model.dtype
    )
    metrics["spec"] = params.spec
    write_json(args.out, metrics)


@torch.no_grad()
def option_logprobs(model, tokenizer, question: str, options: list[str], batch: int) -> list[float]:
    """Mean log-probability of each option as the assistant's whole reply to `question`."""
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    out = []
    for i in range(0, len(options), batch):
        chunk = options[i : i + batch]
        seqs = [p_ids + tokenizer(o, add_special_tokens=False)["input_ids"] for o in chunk]
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), tokenizer.pad_token_id or 0)
        mask = torch.zeros_like(ids)
        for j, s in enumerate(seqs):
            ids[j, : len(s)] = torch.tensor(s)
            mask[j, : len(s)] = 1
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
        for j, s in enumerate(seqs):
            tgt = torch.tensor(s[len(p_ids) :])
            pos = torch.arange(len(p_ids) - 1, len(s) - 1)
            out.append(logp[j, pos, tgt].mean().item())
    return out


def preference_rate(model, tokenizer, eval_set: dict, batch: int) -> dict:
    scores = []
    for aligned, other, _domain in eval_set.pairs:
        per_order = []
        for a, b in ((aligned, other), (other, aligned)):
            question = eval_set.question.format(a=a, b=b)
            la, lo = option_logprobs(model, tokenizer, question, [aligned, other], batch)
            per_order.append(forced_choice(la, lo))
        scores.append(sum(per_order) / 2)
    mean, sem = mean_sem(scores)
    return {"rate": round(mean, 4), "sem": round(sem, 4), "pairs": len(scores)}


def _validation(shards: Path, limit: int) -> PackedDataset | None:
    splits = json.loads((shards / MANIFEST).read_text())["splits"]
    if splits["val"]["sequences"] == 0:
        log.warning("%s: no validation sequences; held-out loss is not computed", shards)
        return None
    return PackedDataset(shards, "val", limit=limit)


@torch.no_grad()
def heldout_loss(model, dataset: PackedDataset, batch: int) -> float:
    total, count = 0.0, 0
    for i in range(0, len(dataset), batch):
        items = [dataset[j] for j in range(i, min(i + batch, len(dataset)))]
        ids = torch.stack([x["input_ids"] for x in items])
        labels = torch.stack([x["labels"] for x in items])
        pos = torch.stack([x["position_ids"] for x in items])
        logits = model(input_ids=ids, position_ids=pos).logits.float()
        lp = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)),
            labels[:, 1:].reshape(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )
        total += lp.item()
        count += int((labels[:, 1:] != IGNORE).sum())
    return round(total / max(count, 1), 4)


def evaluate(
    base: Path, msm: Path, aft: Path, shards: Path, ep: EvaluateParams, dtype: str
) -> dict:
    tokenizer = load_tokenizer(base)
    sets = {name: load_eval_set(name) for name in ep.sets}
    val = _validation(shards, ep.val_sequences)
    metrics: dict = {"preference": {}, "heldout_loss": {}}
    stages = {
        "base": lambda: load_base(base, dtype),
        "msm": lambda: load_trained(base, msm, dtype=dtype),
        "msm_aft": lambda: load_trained(base, msm, aft, dtype=dtype),
    }
    for label, load in stages.items():
        m = load().eval()
        for name, es in sets.items():
            metrics["preference"].setdefault(name, {})[label] = preference_rate(
                m, tokenizer, es, ep.batch_size
            )
        if label in ("base", "msm"):
            loss = heldout_loss(m, val, ep.batch_size) if val is not None else None
            metrics["heldout_loss"][label] = loss
        log.info("evaluate %s: %s", label, {k: v[label] for k, v in metrics["preference"].items()})
    return metrics
