"""Run megatron-core 0.16.1 on a machine without CUDA.

megatron-core has no CPU code path: ``device="cuda"`` and ``torch.cuda.current_device()`` are
hard-coded in the pipeline schedules, p2p communication, optimizers, grad clipping, the global
memory buffer and checkpointing; ``clip_grads`` asserts ``grad.type() == 'torch.cuda.FloatTensor'``;
the RNG tracker reads the CUDA generator. Patching call sites one by one is impractical
(see /work/shared/notes/megatron-cpu.md), so this module

* pushes a :class:`torch.overrides.TorchFunctionMode` that rewrites CUDA device requests
  (``device="cuda"``/``0``, ``.cuda()``, ``.to("cuda")``, ``pin_memory=True``) to CPU and makes
  ``Tensor.type()`` report ``torch.cuda.*Tensor`` names;
* replaces the few ``torch.cuda`` functions megatron calls (current_device, synchronize, the RNG
  state functions, Event/Stream/nvtx no-ops) and megatron's own CUDA RNG helpers with CPU versions.

Cost measured in the notes: 3–8 % per step on a tiny model. Call :func:`install` before anything
megatron is built. It is idempotent and does nothing when a CUDA device exists, so it can never
leak into the GPU path. The mode stack is thread-local; megatron's training work all runs on the
thread that called ``install`` (autograd runs CPU backward on the calling thread).
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

_CPU = torch.device("cpu")
_mode: "_CudaToCpu | None" = None


def _is_cuda(device: Any) -> bool:
    """True for what torch would read as a CUDA device: "cuda", "cuda:1", device('cuda'), or an int."""
    if isinstance(device, bool):
        return False
    if isinstance(device, int):
        return True  # factory functions read a bare int as a CUDA ordinal
    if isinstance(device, str):
        return device.split(":")[0] == "cuda"
    return isinstance(device, torch.device) and device.type == "cuda"


class _CudaToCpu(TorchFunctionMode):
    # Every torch call passes through here, so the common case (not a special method, no
    # device/pin_memory keyword) returns after two cheap checks.
    def __torch_function__(self, func, types, args=(), kwargs=None):
        special = _SPECIAL.get(func)
        if special is not None:
            return special(func, args, kwargs or {})
        if kwargs and ("device" in kwargs or kwargs.get("pin_memory")):
            kwargs = dict(kwargs)
            if _is_cuda(kwargs.get("device")):
                kwargs["device"] = _CPU
            if kwargs.get("pin_memory"):
                kwargs["pin_memory"] = False  # pinning needs a CUDA driver
            return func(*args, **kwargs)
        return func(*args, **(kwargs or {}))


def _to(func, args, kwargs):
    """``t.to("cuda")``/``t.to(0)``/``t.to(device="cuda")`` → cpu; dtype/tensor arguments pass."""
    if len(args) > 1 and _is_cuda(args[1]):
        args = (args[0], _CPU, *args[2:])
    if _is_cuda(kwargs.get("device")):
        kwargs = {**kwargs, "device": _CPU}
    return func(*args, **kwargs)


def _identity(func, args, kwargs):
    return args[0]  # .cuda() / .pin_memory(): the tensor already lives where it can


def _tensor_type(func, args, kwargs):
    """``t.type()`` names the CUDA twin of the CPU type; ``t.type("torch.cuda.X")`` casts to X."""
    if len(args) == 1 and not kwargs:
        name = func(*args)
        return name.replace("torch.", "torch.cuda.", 1) if not name.startswith("torch.cuda.") else name
    if len(args) > 1 and isinstance(args[1], str):
        args = (args[0], args[1].replace("torch.cuda.", "torch."), *args[2:])
    return func(*args, **kwargs)


_SPECIAL = {
    torch.Tensor.to: _to,
    torch.Tensor.cuda: _identity,
    torch.Tensor.pin_memory: _identity,
    torch.Tensor.type: _tensor_type,
}


class _NoOpEvent:
    """Stand-in for ``torch.cuda.Event``/``Stream``: timing and stream sync are meaningless on CPU."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str):
        return lambda *a, **k: 0.0 if name == "elapsed_time" else None


def _get_rng_state(device: Any = "cuda") -> torch.Tensor:
    return torch.default_generator.get_state()


def _set_rng_state(new_state: torch.Tensor, device: Any = -1, graph_safe: bool = False) -> None:
    torch.default_generator.set_state(new_state)


def _megatron_get_rng_state(device: Any = "cuda", clone: bool = False, graph_safe: bool = False):
    return torch.default_generator.get_state()  # get_state() already returns a copy


def _manual_seed(seed: int) -> None:
    # Not torch.manual_seed: it calls torch.cuda.manual_seed_all (recursion if that is patched).
    torch.default_generator.manual_seed(int(seed))


class _DropCpuRngWarning(logging.Filter):
    """The tracker warns when the CPU RNG moves inside a fork; on CPU the two RNGs are one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CPU RNG state changed within GPU RNG context" not in record.getMessage()


def _current_device():
    """0, which the mode maps to cpu; but torch pops a mode while it handles a call, so code run
    *inside* a handled call — the autograd backward of ``torch.autograd.backward`` (megatron's
    sequence-parallel linear allocates with ``device=torch.cuda.current_device()`` there) — sees
    no mode and gets the CPU device itself."""
    return 0 if torch._C._len_torch_function_stack() else _CPU


def _patch_torch_cuda() -> None:
    cuda = torch.cuda
    cuda.current_device = _current_device
    cuda.synchronize = lambda device=None: None
    cuda.empty_cache = lambda: None
    cuda.get_rng_state = _get_rng_state
    cuda.set_rng_state = _set_rng_state
    cuda.random.get_rng_state = _get_rng_state
    cuda.random.set_rng_state = _set_rng_state
    cuda.manual_seed = _manual_seed
    cuda.Event = _NoOpEvent
    cuda.Stream = _NoOpEvent
    cuda.current_stream = lambda device=None: _NoOpEvent()
    cuda.default_stream = lambda device=None: _NoOpEvent()
    cuda.stream = lambda stream=None: contextlib.nullcontext()
    cuda.nvtx.range_push = lambda msg: None
    cuda.nvtx.range_pop = lambda: None


def _patch_megatron_rng() -> None:
    # The shim is the CPU half of lmsci.train.adapter, the only other place megatron is imported.
    with warnings.catch_warnings():  # "Apex/TE not installed, falling back to torch": intended here
        warnings.filterwarnings("ignore", message=".*(Apex|Transformer Engine).*not installed.*")
        from megatron.core.tensor_parallel import random as mrandom

    mrandom._get_cuda_rng_state = _megatron_get_rng_state
    mrandom._set_cuda_rng_state = _set_rng_state
    logging.getLogger(mrandom.__name__).addFilter(_DropCpuRngWarning())


def install() -> bool:
    """Make megatron-core run on CPU; returns True when the shim is active. Idempotent."""
    global _mode
    if torch.cuda.is_available():
        return False
    if _mode is None:
        _patch_torch_cuda()
        _patch_megatron_rng()
        _mode = _CudaToCpu()
        _mode.__enter__()  # process-wide for this thread, never exited: megatron is CPU-only here
    return True


def active() -> bool:
    return _mode is not None
