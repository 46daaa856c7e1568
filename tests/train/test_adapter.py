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


def test_sdpa_attention_matches_megatron_dot_product_attention():
    """lmsci's fused core attention computes what megatron's unfused local one does (GQA, causal)."""
    from megatron.core.transformer.dot_product_attention import DotProductAttention
    from megatron.core.transformer.enums import AttnMaskType

    from lmsci.train.adapter.attention import SDPAttention

    with adapter.distributed(1, 1, seed=3):
        config = adapter.transformer_config(MODEL, 1, 1)
        ours, theirs = (cls(config, 1, AttnMaskType.causal, "self") for cls in (SDPAttention, DotProductAttention))
        s, b, d = 16, 3, MODEL.hidden_size // MODEL.num_attention_heads
        g = torch.Generator().manual_seed(0)
        q = torch.randn(s, b, MODEL.num_attention_heads, d, generator=g, requires_grad=True)
        k, v = (torch.randn(s, b, MODEL.num_query_groups, d, generator=g, requires_grad=True) for _ in range(2))
        grads = []
        for module in (ours, theirs):
            out = module(q, k, v, None)
            assert out.shape == (s, b, MODEL.hidden_size)
            grads.append((out, *torch.autograd.grad(out.square().sum(), (q, k, v))))
        for a, e in zip(*grads):
            assert torch.allclose(a, e, atol=1e-5)
        q2 = q.detach().clone()
        q2[-1] += 1.0  # causal: the last position's query changes only the last output row
        changed = ours(q2, k, v, None) != ours(q, k, v, None)
        assert changed[-1].any() and not changed[:-1].any()
