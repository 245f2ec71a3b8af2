"""Resumable training checkpoints, outside the DVC outputs.

A checkpoint holds everything that decides the rest of the run: the trainable weights (LoRA
adapters, or every weight for full fine-tuning), the optimizer and scheduler state, the step
(which is the data position: the row order is a pure function of seed and epoch), the RNG states
and the curve so far. It lives in the stage's work folder (`pipeline.execution.workdir`: keyed by
the inputs' manifests, the params and the training code, so a changed run never resumes a stale
one), is written to a temporary file and renamed (a kill mid-write leaves the previous one), and
the folder is removed once the stage has written its outputs.

Under FSDP the sharded state is gathered into full, CPU-resident state dicts on rank 0 with
`torch.distributed.checkpoint.state_dict` and broadcast back on resume, so a checkpoint does not
depend on the GPU count that wrote it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_state_dict,
    set_state_dict,
)

from training.distributed import World, barrier

log = logging.getLogger(__name__)
_NAME = re.compile(r"^step-(\d{8})\.pt$")


def _options(world: World, loading: bool) -> StateDictOptions:
    distributed = world.size > 1
    return StateDictOptions(
        full_state_dict=distributed,
        cpu_offload=distributed,
        ignore_frozen_params=True,
        broadcast_from_rank0=distributed and loading,
        strict=not loading,  # the frozen weights are not in a checkpoint (checked in `load`)
    )


class Checkpoints:
    def __init__(self, folder: Path, world: World):
        self.folder = folder
        self.world = world

    def latest(self) -> Path | None:
        found = sorted(p for p in self.folder.glob("step-*.pt") if _NAME.match(p.name))
        return found[-1] if found else None

    def save(self, step: int, module, optimizer, scheduler, history: list[dict]) -> None:
        model_sd, optim_sd = get_state_dict(module, optimizer, options=_options(self.world, False))
        if self.world.main:
            self.folder.mkdir(parents=True, exist_ok=True)
            state = {
                "step": step,
                "model": model_sd,
                "optimizer": optim_sd,
                "scheduler": scheduler.state_dict(),
                "history": history,
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
            }
            final = self.folder / f"step-{step:08d}.pt"
            tmp = final.with_suffix(".tmp")
            torch.save(state, tmp)
            os.replace(tmp, final)
            for old in self.folder.glob("step-*.pt"):
                if old != final:
                    old.unlink()
            log.info("checkpoint at step %d -> %s", step, final)
        barrier(self.world)

    def load(self, path: Path, module, optimizer, scheduler) -> tuple[int, list[dict]]:
        state = torch.load(path, map_location="cpu", weights_only=False)
        trained = {
            n.removeprefix("module.") for n, p in module.named_parameters() if p.requires_grad
        }
        missing = trained - set(state["model"])
        if missing:
            raise RuntimeError(
                f"{path}: lacks {len(missing)} trained tensors (e.g. {min(missing)}); "
                f"delete {self.folder} to start afresh"
            )
        set_state_dict(
            module,
            optimizer,
            model_state_dict=state["model"],
            optim_state_dict=state["optimizer"],
            options=_options(self.world, True),
        )
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda_rng"])
        log.info("resuming from %s (step %d)", path, state["step"])
        return state["step"], state["history"]

    def remove(self) -> None:
        if self.world.main:
            shutil.rmtree(self.folder, ignore_errors=True)
