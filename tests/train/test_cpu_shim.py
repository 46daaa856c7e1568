"""lmsci.train.cpu_shim: CUDA requests land on the CPU; megatron's RNG tracker uses the CPU generator."""
from __future__ import annotations

import pytest
import torch

from lmsci.train import cpu_shim

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the shim is a no-op when CUDA exists")


@pytest.fixture(scope="module", autouse=True)
def shim():
    assert cpu_shim.install() is True
    assert cpu_shim.install() is True  # idempotent
    assert cpu_shim.active()


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda"), 0])
def test_factory_device_request_lands_on_cpu(device):
    assert torch.empty(3, device=device).device.type == "cpu"
    assert torch.zeros(2, 2, device=device).device.type == "cpu"


def test_current_device_and_moves_land_on_cpu():
    t = torch.ones(2, device=torch.cuda.current_device())
    assert t.device.type == "cpu"
    assert t.cuda().device.type == "cpu"
    assert t.to("cuda").device.type == "cpu"
    assert t.to(device="cuda:0", dtype=torch.float64).dtype == torch.float64
    assert t.to(torch.float16).dtype == torch.float16  # dtype-only .to() is untouched


def test_type_reports_cuda_names_and_pinning_is_dropped():
    assert torch.zeros(1).type() == "torch.cuda.FloatTensor"  # megatron's clip_grads asserts this
    assert torch.zeros(1).type("torch.cuda.DoubleTensor").dtype == torch.float64
    assert not torch.ones(2, pin_memory=True).is_pinned()
    assert torch.ones(2).pin_memory().device.type == "cpu"


def test_cuda_rng_functions_drive_the_cpu_generator():
    torch.cuda.manual_seed(7)
    a = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(a, torch.rand(3))
    state = torch.cuda.get_rng_state()
    b = torch.rand(2)
    torch.cuda.set_rng_state(state)
    assert torch.equal(b, torch.rand(2))


def test_megatron_rng_tracker_forks_on_cpu():
    from megatron.core import tensor_parallel

    tracker = tensor_parallel.get_cuda_rng_tracker()
    tracker.reset()
    tracker.add("lmsci-test", 123)
    torch.manual_seed(0)
    with tracker.fork("lmsci-test"):
        inside = torch.rand(2)
    outside = torch.rand(2)
    torch.manual_seed(123)
    assert torch.equal(inside, torch.rand(2))  # the fork drew from its own seeded stream
    torch.manual_seed(0)
    assert torch.equal(outside, torch.rand(2))  # and left the default stream where it was
    tracker.reset()


def test_backward_code_allocating_on_the_current_device_lands_on_cpu():
    """torch pops the mode while it handles torch.autograd.backward, so a backward that allocates
    with ``device=torch.cuda.current_device()`` (megatron's sequence-parallel linear) sees no mode."""

    class AllocatesInBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            out = torch.empty(grad.shape, dtype=grad.dtype, device=torch.cuda.current_device())
            return out.copy_(grad * 2)

    x = torch.ones(3, requires_grad=True)
    AllocatesInBackward.apply(x).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 2.0))
    assert torch.cuda.current_device() == 0  # outside a handled call: the ordinal the mode maps
