"""Document masking (megatron's reset_attention_mask + reset_position_ids): a token sees only its
own document, at the positions it would have at the start of a sequence; off, nothing changes."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from lmsci.train import adapter

from .conftest import MODEL, SEQ, TRAIN, VOCAB

EOD = 0


@pytest.fixture
def model():
    """A TP=PP=1 model with trained-looking (not near-zero) weights, so attention is not uniform."""
    with adapter.distributed(1, 1, seed=5):
        module = adapter.build_model(MODEL, VOCAB, 1, 1, wrap_ddp=False)
        with torch.no_grad():
            for p in module.parameters():
                if p.dim() > 1:
                    p.normal_(0, 0.2, generator=torch.Generator().manual_seed(p.numel()))
        yield module


def doc(n: int, seed: int) -> list[int]:
    return torch.randint(1, VOCAB, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def logits_of(module, tokens: list[int], masking: bool) -> torch.Tensor:
    batch = torch.tensor([tokens])
    if not masking:
        return adapter.logits(module, batch)[0]
    mask, positions = adapter.document_mask(batch, EOD)
    return adapter.logits(module, batch, mask, positions)[0]


@pytest.mark.parametrize("first_length", [20, 31])  # the earlier document: same length, or another
def test_a_tokens_logits_ignore_an_earlier_document(model, first_length):
    later = doc(24, seed=1)
    a = doc(20, seed=2) + [EOD] + later
    b = doc(first_length, seed=3) + [EOD] + later  # another earlier document
    n = len(later)
    masked_a, masked_b = (logits_of(model, t, True)[-n:] for t in (a, b))
    plain_a, plain_b = (logits_of(model, t, False)[-n:] for t in (a, b))
    assert (plain_a - plain_b).abs().max() > 1e-2  # without masking the earlier document matters
    if first_length == 20:  # same rows, same positions: bit for bit
        assert torch.equal(masked_a, masked_b)
    else:  # the later document sits at other rows; same positions (reset), other kernel blocks
        assert torch.allclose(masked_a, masked_b, atol=1e-5, rtol=0)
    # …and it is what the later document alone would give at the start of a sequence.
    assert torch.allclose(masked_a, logits_of(model, later, False), atol=1e-5, rtol=0)


def test_one_document_with_the_mask_equals_the_default_path(model):
    tokens = doc(SEQ, seed=4)  # no end-of-document token: the mask is plain causal
    assert torch.allclose(logits_of(model, tokens, True), logits_of(model, tokens, False), atol=1e-5, rtol=0)


def test_dataset_gives_masks_and_restarted_positions_only_when_asked(blend, tmp_path):
    entries = json.loads(blend.read_text())["train"]
    prefixes = [(e["prefix"], e["weight"]) for e in entries]
    tokenizer = adapter.Tokenizer(vocab_size=VOCAB, eod=EOD)
    with adapter.distributed(1, 1, seed=0):
        plain = adapter.build_train_dataset(prefixes, tokenizer, SEQ, 16, 0, tmp_path / "plain")
        masked = adapter.build_train_dataset(prefixes, tokenizer, SEQ, 16, 0, tmp_path / "masked",
                                             document_masking=True)
        (p,) = adapter.micro_batches(plain, 0, 1, 16, 16)
        (m,) = adapter.micro_batches(masked, 0, 1, 16, 16)
    assert "attention_mask" not in p and torch.equal(p["position_ids"], torch.arange(SEQ).expand(16, SEQ))
    assert torch.equal(m["tokens"], p["tokens"])  # same data…
    assert torch.equal(m["loss_mask"], p["loss_mask"])  # …and the same targets (eod_mask_loss off)
    assert m["attention_mask"].shape == (16, 1, SEQ, SEQ)
    ends = (m["tokens"] == EOD).nonzero().tolist()
    assert ends, "the tiny blend's sequences span documents"
    for row, i in ends:
        if i + 1 < SEQ:
            assert m["position_ids"][row, i + 1] == 0  # a document starts at position 0
            assert m["attention_mask"][row, 0, i + 1:, :i + 1].all()  # and sees nothing before it
    expected_mask, expected_positions = adapter.document_mask(m["tokens"], EOD)
    assert torch.equal(m["attention_mask"], expected_mask) and torch.equal(m["position_ids"], expected_positions)


def test_training_steps_with_document_masking(blend, tmp_path):
    """Masked batches train (loss falls) and differ from unmasked training on the same data."""
    entries = json.loads(blend.read_text())["train"]
    prefixes = [(e["prefix"], e["weight"]) for e in entries]
    tokenizer = adapter.Tokenizer(vocab_size=VOCAB, eod=EOD)
    train = dataclasses.replace(TRAIN, steps=6)
    curves = {}
    for masking in (False, True):
        with adapter.distributed(1, 1, seed=0):
            module = adapter.build_model(MODEL, VOCAB, 1, 1)
            optimizer = adapter.build_optimizer(module, train)
            data = adapter.build_train_dataset(prefixes, tokenizer, SEQ, train.steps * train.global_batch_size, 0,
                                               tmp_path / str(masking), document_masking=masking)
            batches = adapter.micro_batches(data, 0, train.steps, train.micro_batch_size, train.global_batch_size)
            curves[masking] = [adapter.step(module, optimizer, batches, 2, SEQ, train.micro_batch_size).loss
                               for _ in range(train.steps)]
    assert curves[True][-1] < curves[True][0]
    assert curves[True][0] != curves[False][0]


def test_rope_follows_the_given_position_ids(model):
    """megatron rotates by row index; under a document mask lmsci rotates by the restarted positions."""
    rotary = model.rotary_pos_emb
    rows = rotary(6)  # [s, 1, 1, d]: positions 0…5
    rotary.position_ids = torch.tensor([[0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 4, 5]])
    try:
        by_position = rotary(6)  # [s, b, 1, d]
    finally:
        rotary.position_ids = None
    assert by_position.shape == (6, 2, 1, rows.shape[-1])
    assert torch.equal(by_position[:, 1], rows[:, 0]) and torch.equal(by_position[3:, 0], rows[:3, 0])
    assert torch.equal(rotary(6), rows)  # unset again: megatron's behaviour
