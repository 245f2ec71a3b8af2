"""One process or many: the same `msm train-msm` under `torchrun` or `accelerate launch`.

Both launchers set RANK, WORLD_SIZE and LOCAL_RANK; without them this is one process. With
several, every process trains on its share of each optimizer step's rows and the model is wrapped
in DDP (replicated weights, gradients all-reduced) or FSDP2 (`fully_shard` on every decoder
layer and the root: parameters, gradients and optimizer state sharded, gathered per layer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_world() -> World:
    size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if size == 1:
        return World(0, 1, torch.device("cuda" if cuda else "cpu"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    return World(dist.get_rank(), size, device)


def wrap(module: nn.Module, layers: list[nn.Module], world: World, parallel: str, bf16: bool):
    """Wrap `module` (a `PackedLM`) for `world`; unchanged in a single process."""
    if world.size == 1:
        return module
    if parallel == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        ids = [world.device.index] if world.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mp = MixedPrecisionPolicy(
        param_dtype=torch.bfloat16 if bf16 else None, reduce_dtype=torch.float32
    )
    for layer in layers:
        fully_shard(layer, mp_policy=mp)
    fully_shard(module, mp_policy=mp)
    return module


def all_reduce_max(value: float, world: World) -> float:
    if world.size == 1:
        return value
    t = torch.tensor([value], device=world.device, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def close(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()
