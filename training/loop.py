"""The MSM training loop: fixed-size optimizer steps over packed rows, resumable at any checkpoint.

Read top to bottom: the step plan (which rows each optimizer step trains on), then one step
(micro-batches, loss normalization, clipping, the optimizer), then the run (resume, curves,
checkpoints). Everything that decides the result is a function of the params and the seed:
- the row order of epoch e is a permutation seeded by (seed, e), so step s always trains on the
  same rows, whatever the device count, and resuming at step s needs no saved data iterator;
- each step's loss is the sum over its target tokens divided by their count over the whole step
  (all micro-batches, all devices), so accumulation and the GPU count do not change the gradient.

Ctrl-C or SIGTERM (`pipeline.interrupt`) lets the step in progress finish, writes a checkpoint
at that step boundary and stops with `Interrupted`; the same command then resumes from it. The
processes agree on the stop each step, so all of them checkpoint the same step.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch
from transformers import get_cosine_schedule_with_warmup

from pipeline import interrupt
from pipeline.config.params import TrainMsmParams
from pipeline.errors import InputError
from training.attention import block_causal_mask
from training.checkpoint import Checkpoints
from training.curves import StepMeter
from training.data import DataError, PackedCollator, PackedDataset
from training.distributed import World, all_reduce_max
from training.flops import attention_context, step_flops

log = logging.getLogger(__name__)


class TrainingError(InputError):
    """Training cannot go on (for example a non-finite loss); the message names the step."""


# ---------------------------------------------------------------- the step plan


@dataclass(frozen=True)
class StepPlan:
    rows: int
    """Rows of one optimizer step, all devices together."""
    micro_rows: int
    grad_accum: int
    steps_per_epoch: int
    total_steps: int
    rows_unseen_per_epoch: int
    """Rows past the last full step of an epoch (counted, not trained that epoch)."""
    seed: int

    def rows_of(self, step: int, n: int) -> np.ndarray:
        epoch, i = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(n)
        return order[i * self.rows : (i + 1) * self.rows]


def plan_steps(tp: TrainMsmParams, seq_len: int, n_rows: int, world: int, seed: int) -> StepPlan:
    if tp.batch_tokens % seq_len:
        raise DataError(
            f"params.yaml: `train_msm.batch_tokens: {tp.batch_tokens}` is not a multiple of the "
            f"shards' sequence length {seq_len} (pack.seq_len); use a multiple such as "
            f"{max(1, round(tp.batch_tokens / seq_len)) * seq_len}"
        )
    rows = tp.batch_tokens // seq_len
    per_pass = tp.micro_batch_rows * world
    if rows % per_pass:
        raise DataError(
            f"params.yaml: a step of `train_msm.batch_tokens: {tp.batch_tokens}` is {rows} rows "
            f"of {seq_len}, not a multiple of micro_batch_rows ({tp.micro_batch_rows}) x "
            f"devices ({world}); change batch_tokens or micro_batch_rows"
        )
    per_epoch = n_rows // rows
    if per_epoch == 0:
        raise DataError(
            f"the shards hold {n_rows} training rows, fewer than one step of {rows} rows "
            f"(train_msm.batch_tokens {tp.batch_tokens} / seq_len {seq_len}); lower "
            "batch_tokens or build a larger corpus"
        )
    total = tp.max_steps or tp.epochs * per_epoch
    return StepPlan(rows, tp.micro_batch_rows, rows // per_pass, per_epoch, total,
                    n_rows - per_epoch * rows, seed)  # fmt: skip


# ---------------------------------------------------------------- one step


@dataclass
class Runtime:
    """What the loop drives: the wrapped module, its optimizer, the device and kernels."""

    module: torch.nn.Module
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    world: World
    attention: str
    bf16: bool


def build_optimizer(params: list[torch.nn.Parameter], tp: TrainMsmParams, total: int, cuda: bool):
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]  # norms and biases are not decayed
    groups = [{"params": decay, "weight_decay": tp.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=tp.lr, fused=cuda)
    warmup = math.ceil(tp.warmup_ratio * total)
    return optimizer, get_cosine_schedule_with_warmup(optimizer, warmup, total)


def _micro_batches(rows: np.ndarray, plan: StepPlan, world: World):
    share = len(rows) // world.size
    mine = rows[world.rank * share : (world.rank + 1) * share]
    for i in range(plan.grad_accum):
        yield mine[i * plan.micro_rows : (i + 1) * plan.micro_rows]


def train_step(rt: Runtime, ds: PackedDataset, rows: np.ndarray, plan: StepPlan, max_norm: float):
    """One optimizer step over `rows`; returns (mean loss over the step's targets, grad norm)."""
    targets = int(ds.row_targets[rows].sum())
    collate = PackedCollator()
    device = rt.world.device
    loss_sum = torch.zeros((), device=device, dtype=torch.float32)
    micro = list(_micro_batches(rows, plan, rt.world))
    for i, chunk in enumerate(micro):
        batch = collate([ds[int(r)] for r in chunk])
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        mask = block_causal_mask(batch["position_ids"], rt.attention)
        sync = i == len(micro) - 1 or not hasattr(rt.module, "no_sync")
        with (
            contextlib.nullcontext() if sync else rt.module.no_sync(),
            torch.autocast(device.type, dtype=torch.bfloat16, enabled=rt.bf16),
        ):
            loss = rt.module(
                batch["input_ids"], batch["position_ids"], batch["labels"], attention_mask=mask
            )
        # DDP and FSDP average gradients over devices; the sum over devices is what we want
        (loss * (rt.world.size / max(targets, 1))).backward()
        loss_sum += loss.detach().float()
    if rt.world.size > 1:
        torch.distributed.all_reduce(loss_sum)
    mean = loss_sum.item() / max(targets, 1)
    norm = torch.nn.utils.clip_grad_norm_(rt.params, max_norm if max_norm > 0 else math.inf)
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return mean, float(norm)


# ---------------------------------------------------------------- the run


def train(
    rt: Runtime,
    ds: PackedDataset,
    plan: StepPlan,
    tp: TrainMsmParams,
    checkpoints: Checkpoints,
    checkpoint_every: int,
    flop_shape: dict,
    peak: float | None,
) -> list[dict]:
    """Run (or resume) the plan; returns the per-step curve."""
    start, history = 0, []
    latest = checkpoints.latest()
    if latest is not None:
        start, history = checkpoints.load(latest, rt.module, rt.optimizer, rt.scheduler)
    context = np.array([attention_context(s[:, 2]) for s in ds.segments], dtype=np.int64)
    rt.module.train()
    with (
        StepMeter(plan.total_steps, start, enabled=rt.world.main) as meter,
        interrupt.graceful(_on_signal, lambda: "the step in progress is lost"),
    ):
        for step in range(start, plan.total_steps):
            t0 = time.perf_counter()
            rows = plan.rows_of(step, len(ds))
            loss, norm = train_step(rt, ds, rows, plan, tp.max_grad_norm)
            if not math.isfinite(loss) or not math.isfinite(norm):
                raise TrainingError(
                    f"train_msm: step {step + 1}: loss {loss}, gradient norm {norm}; the run "
                    "diverged. Lower train_msm.lr, keep max_grad_norm on, or use precision bf16 "
                    "instead of float16 weights"
                )
            lr = rt.scheduler.get_last_lr()[0]
            rt.optimizer.step()
            rt.scheduler.step()
            rt.optimizer.zero_grad(set_to_none=True)
            tokens = int(ds.row_tokens[rows].sum())
            record = {
                "step": step + 1,
                "loss": round(loss, 6),
                "lr": lr,
                "grad_norm": round(norm, 6),
                "tokens": tokens,
            }
            seconds = all_reduce_max(time.perf_counter() - t0, rt.world)
            rate = tokens / seconds
            if tp.log_throughput:
                record["tokens_per_s"] = round(rate, 1)
                if peak:
                    flops = step_flops(
                        tokens=tokens, context=int(context[rows].sum()), **flop_shape
                    )
                    record["mfu"] = round(flops / seconds / (peak * rt.world.size), 4)
            history.append(record)
            meter.update(step + 1, loss, rate)
            done = step + 1
            if _stop_agreed(rt.world):
                checkpoints.save(done, rt.module, rt.optimizer, rt.scheduler, history)
                raise interrupt.Interrupted(
                    interrupt.requested() or signal.SIGTERM,
                    f"checkpoint written at step {done} of {plan.total_steps}; "
                    "the next run resumes from it",
                )
            if checkpoint_every and done % checkpoint_every == 0 and done < plan.total_steps:
                checkpoints.save(done, rt.module, rt.optimizer, rt.scheduler, history)
    return history


def _on_signal(name: str) -> None:
    log.warning(
        "%s: stopping after the step in progress with a checkpoint (send it again to quit at once)",
        name,
    )


def _stop_agreed(world: World) -> bool:
    """Whether any process was asked to stop (a signal may reach only some of them)."""
    return all_reduce_max(1.0 if interrupt.requested() else 0.0, world) > 0
