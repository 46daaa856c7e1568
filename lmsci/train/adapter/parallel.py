"""Process groups and megatron's parallel state; the collectives the loop needs (loss, memory)."""
from __future__ import annotations

import contextlib
import os
import socket
from datetime import timedelta

import torch
import torch.distributed as dist
from megatron.core import parallel_state, tensor_parallel

from lmsci.train import cpu_shim


class AdapterError(RuntimeError):
    """An unsupported layout or a bad input: one line naming what to change."""


def on_gpu() -> bool:
    return torch.cuda.is_available()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def distributed(tensor_parallel_size: int, pipeline_parallel_size: int, seed: int, virtual_pipeline_size: int = 1,
                expert_parallel_size: int = 1):
    """Process group + megatron parallel state for the duration of the block.

    ``expert_parallel_size`` splits an MoE model's experts over that many data-parallel ranks
    (megatron's expert_model_parallel_size; it must divide the data-parallel size).

    Under torchrun the group comes from the environment; otherwise a 1-rank group on a free port
    (BlendedDataset and the checkpoint writer call torch.distributed unguarded).
    """
    if not on_gpu():
        cpu_shim.install()
    owns_group = not dist.is_initialized()
    if owns_group:
        backend = "nccl" if on_gpu() else "gloo"
        if "RANK" in os.environ:  # launched by torchrun
            if on_gpu():
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            dist.init_process_group(backend, timeout=timedelta(minutes=10))
        else:
            dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{free_port()}",
                                    rank=0, world_size=1, timeout=timedelta(minutes=10))
    try:
        world = dist.get_world_size()
        if world % (tensor_parallel_size * pipeline_parallel_size):
            raise AdapterError(f"world size {world} is not a multiple of tensor_parallel × pipeline_parallel "
                               f"= {tensor_parallel_size * pipeline_parallel_size}")
        data_parallel = world // (tensor_parallel_size * pipeline_parallel_size)
        if data_parallel % expert_parallel_size:
            raise AdapterError(f"train.expert_parallel={expert_parallel_size} must divide the data-parallel size "
                               f"{data_parallel}")
        parallel_state.initialize_model_parallel(
            tensor_parallel_size, pipeline_parallel_size,
            virtual_pipeline_model_parallel_size=virtual_pipeline_size if virtual_pipeline_size > 1 else None,
            expert_model_parallel_size=expert_parallel_size)
        # Same seed on every rank; megatron offsets the tensor-parallel stream by the TP rank.
        torch.manual_seed(seed)
        tensor_parallel.model_parallel_cuda_manual_seed(seed)
        yield
    finally:
        parallel_state.destroy_model_parallel()
        if owns_group:
            dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank()


def world_size() -> int:
    return dist.get_world_size()


def data_parallel_rank_and_size() -> tuple[int, int]:
    return parallel_state.get_data_parallel_rank(), parallel_state.get_data_parallel_world_size()


def barrier() -> None:
    dist.barrier()


def mean_loss_across_ranks(local_loss: float | None) -> float:
    """Loss lives on the last pipeline stage (one copy per TP rank, one value per DP rank)."""
    t = torch.tensor([local_loss or 0.0, 1.0 if local_loss is not None else 0.0], dtype=torch.float64)
    if on_gpu():
        t = t.cuda()
    dist.all_reduce(t)
    return float(t[0] / t[1])


def max_memory_mb() -> float:
    """Peak memory of this rank: CUDA max allocated on GPU, else the process's max resident set."""
    if on_gpu():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def max_across_ranks(value: float) -> float:
    t = torch.tensor([value], dtype=torch.float64)
    if on_gpu():
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t[0])
