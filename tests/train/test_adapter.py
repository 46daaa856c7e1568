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


def _random_batches(seed: int):
    g = torch.Generator().manual_seed(seed)
    s = MODEL.seq_length
    while True:
        t = torch.randint(1, VOCAB, (2, s + 1), generator=g)
        yield {"tokens": t[:, :-1], "labels": t[:, 1:], "loss_mask": torch.ones(2, s),
               "position_ids": torch.arange(s).expand(2, s)}


def _run(decisions: list[bool]) -> tuple[list, dict]:
    """Steps over a fixed batch stream; ``decisions[i]`` is what ``accept`` answers at step i."""
    from .conftest import TRAIN

    with adapter.distributed(1, 1, seed=7):
        module = adapter.build_model(MODEL, VOCAB, 1, 1)
        optimizer = adapter.build_optimizer(module, TRAIN)
        batches, seen, results = _random_batches(0), [], []
        for decision in decisions:
            results.append(adapter.step(module, optimizer, batches, 2, MODEL.seq_length, 2,
                                        accept=lambda loss, d=decision: seen.append(loss) or d))
        assert [r.loss for r in results] == seen  # accept sees the step's (cross-rank) LM loss
        weights = {k: v.clone() for k, v in adapter.model._gpt(module).state_dict().items() if torch.is_tensor(v)}
        steps = {int(s["step"]) for s in optimizer.optimizer.state.values()}  # torch AdamW's per-param steps
        return results, {"weights": weights, "adam_steps": steps}


def test_step_equals_train_step_and_a_refused_step_changes_nothing():
    with adapter.distributed(1, 1, seed=7):
        from .conftest import TRAIN

        module = adapter.build_model(MODEL, VOCAB, 1, 1)
        optimizer = adapter.build_optimizer(module, TRAIN)
        batches = _random_batches(0)
        old = [adapter.train_step(module, optimizer, batches, 2, MODEL.seq_length, 2) for _ in range(3)]
    results, accepted = _run([True, True, True])
    assert [(r.loss, r.grad_norm) for r in results] == old and all(r.applied for r in results)
    assert all(r.aux_losses == {} for r in results)  # dense: no router losses
    # Refusing step 1 leaves weights and Adam's step count as they were: steps 0 and 2 applied are
    # then 2 Adam steps, and step 2 differs from the run that applied step 1.
    refused, state = _run([True, False, True])
    assert [r.applied for r in refused] == [True, False, True]
    assert refused[1].loss == results[1].loss and refused[1].grad_norm == results[1].grad_norm
    assert state["adam_steps"] == {2} and accepted["adam_steps"] == {3}
    assert refused[2].loss != results[2].loss
    refuse_all, untouched = _run([False, False])
    initial = _run([])[1]
    assert untouched["adam_steps"] == initial["adam_steps"] == set()  # Adam never stepped
    assert all(torch.equal(untouched["weights"][k], initial["weights"][k]) for k in initial["weights"])
    assert refuse_all[0].loss == results[0].loss and not any(r.applied for r in refuse_all)
