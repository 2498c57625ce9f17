"""Data-parallel training on several processes: PyTorch's DistributedDataParallel under
``torchrun``, with nothing to change in the code but the launcher.

    torchrun --nproc_per_node=2 benchmarks/ch02_ddp.py            (two processes, one machine)

``torchrun`` starts one process per GPU (or per CPU share) and sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; without them every function here is the single-process identity. A trainer
calls :func:`setup` once, wraps its model with :func:`wrap`, takes its own share of each global
batch with :func:`shard`, and lets only the main process (rank 0) draw progress bars and write
files. All processes draw the same permutation (the seed is shared), so the global batch is the
single-process batch; DDP averages the gradients of equal shards, which is the gradient of the
mean loss over the global batch: the same update as one process with batch B, up to the order
of floating-point sums (and BatchNorm statistics, which each process computes on its shard).
That holds when each process's loss is a mean over its shard's items; a loss averaged over a
count that differs between shards (tokens, supervised steps) is the global mean only when each
process scales it by its share of the global count (as :func:`f2p.llm.train.sft_step` does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place among the ``size`` processes of a run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one process that prints and writes files."""
        return self.rank == 0


def world() -> World:
    """The world ``torchrun`` describes in the environment (one process without it)."""
    try:
        found = World(
            rank=int(os.environ.get("RANK", 0)),
            size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError as err:
        raise ValueError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers: {err}") from err
    if found.size < 1 or not 0 <= found.rank < found.size:
        raise ValueError(f"need 0 <= RANK < WORLD_SIZE, got {found.rank} and {found.size}")
    return found


def setup(device: torch.device | str = "cpu") -> World:
    """Join the process group when there are several processes (NCCL on CUDA, gloo on the
    CPU); on CUDA, use the GPU of this process's local rank. Idempotent."""
    here = world()
    if here.size > 1 and not dist.is_initialized():
        cuda = torch.device(device).type == "cuda"
        if cuda:
            torch.cuda.set_device(here.local_rank)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return here


def process_device(device: torch.device | str, here: World) -> torch.device:
    """The device of this process: CUDA devices are one per local rank."""
    device = torch.device(device)
    if device.type == "cuda" and here.size > 1:
        return torch.device("cuda", here.local_rank)
    return device


def wrap(model: nn.Module, here: World, device: torch.device | str = "cpu") -> nn.Module:
    """``model`` in DistributedDataParallel when there are several processes (its gradients are
    averaged across them in ``backward``); the model itself otherwise."""
    if here.size == 1:
        return model
    device = torch.device(device)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


class Objective(nn.Module):
    """``model.<method>`` as a module's ``forward``: DDP averages gradients of what its wrapper's
    ``forward`` computed, so a model whose training loss is another method (``loss``,
    ``log_prob``) is wrapped through this."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(*args)


def prepare(
    model: nn.Module, device: torch.device | str = "cpu", method: str | None = None
) -> tuple[World, torch.device, nn.Module]:
    """A trainer's first lines: join the process group (:func:`setup`), move ``model`` to this
    process's device, and wrap it (or its ``method``, through :class:`Objective`) for gradient
    averaging. Returns the world, the device and the module to call in the training step."""
    here = setup(device)
    device = process_device(device, here)
    model.to(device)
    trained = Objective(model, method) if method else model
    return here, device, wrap(trained, here, device)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def shard(indices: torch.Tensor, here: World) -> torch.Tensor:
    """This process's share of a global batch of ``indices``: the ``rank``-th of ``size`` equal
    contiguous parts. Shards must be equal for DDP's average to be the batch's mean gradient, so
    a batch that does not split evenly leaves out its last ``len % size`` items (at most
    ``size - 1`` per batch; for one process nothing is left out)."""
    if here.size == 1:
        return indices
    per_process = len(indices) // here.size
    if per_process == 0:
        raise ValueError(
            f"a batch of {len(indices)} cannot give each of {here.size} processes an item: "
            "choose a batch size of at least the number of processes"
        )
    return indices[here.rank * per_process : (here.rank + 1) * per_process]


def total(value: float, here: World, device: torch.device | str = "cpu") -> float:
    """The sum of ``value`` over all processes (the value itself for one process); ``device``
    is the process's device (NCCL reduces CUDA tensors only)."""
    if here.size == 1:
        return value
    summed = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(summed)
    return float(summed)
