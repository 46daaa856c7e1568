"""lmsci.train.adapter checkpoints: RNG states come back in the layout that saved them."""
from __future__ import annotations

import torch

from lmsci.train import adapter

from .conftest import MODEL, VOCAB


def test_checkpoint_restores_rng_states(tmp_path):
    with adapter.distributed(1, 1, seed=3):
        module = adapter.build_model(MODEL, VOCAB, 1, 1, wrap_ddp=False)
        tracker = adapter.tensor_parallel.get_cuda_rng_tracker()
        adapter.save_checkpoint(tmp_path, module, None, step=0)
        expected = torch.rand(4)
        with tracker.fork():
            expected_tp = torch.rand(4)
        torch.manual_seed(99)  # move both streams on
        with tracker.fork():
            torch.rand(10)
        assert adapter.load_checkpoint(tmp_path, module, load_rng=True) == 0
        assert torch.equal(torch.rand(4), expected)
        with tracker.fork():
            assert torch.equal(torch.rand(4), expected_tp)
