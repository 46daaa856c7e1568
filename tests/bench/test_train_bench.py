"""`make bench`: tokens/s of lmsci's training step (megatron-core GPTModel + DDP + optimizer behind
lmsci.train.adapter, CPU shim included) against a minimal plain-PyTorch Llama of the same sizes —
same parameter count, AdamW, clipping, micro-batches — on the same CPU in one run.

The ratio lmsci / plain (goal ≥ 0.9; reported, never asserted: the machine is shared) is printed
at the end and stored in reports/bench/train.json and the benchmark JSON (``extra_info``). The plain model runs first: the CPU shim, once installed,
sits under every torch call of the process and would tax the baseline too.

Tiny mode (tests/bench/conftest.py; `make test`): configs/tiny.yaml's model, one step each, nothing timed
or written — the step bodies, the parameter-count identity and a finite loss are what it checks.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmsci import config as C
from lmsci.io import write_json
from lmsci.train import adapter, cpu_shim, flops

from .conftest import RESULTS, REPO, report_path, tiny

CFG = C.load(REPO / "config.yaml", *([REPO / "configs" / "tiny.yaml"] if tiny() else []))
MODEL, TRAIN = CFG.model, CFG.train
VOCAB = CFG.tokenizer.vocab_size
PADDED = adapter.padded_vocab_size(VOCAB)
MICRO = TRAIN.global_batch_size // TRAIN.micro_batch_size  # micro-batches per step (one process)
TOKENS_PER_STEP = TRAIN.global_batch_size * MODEL.seq_length
ROUNDS, WARMUP = 8, 2
OUT = report_path("train.json")


class RMSNorm(nn.Module):
    def __init__(self, h: int, eps: float) -> None:
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(h)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, base: float):  # x: [b, heads, s, d]
    d, s = x.shape[-1], x.shape[-2]
    freqs = torch.outer(torch.arange(s, dtype=torch.float32), base ** (-torch.arange(0, d, 2).float() / d))
    cos, sin = torch.cat([freqs, freqs], -1).cos(), torch.cat([freqs, freqs], -1).sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self, m: C.ModelConfig) -> None:
        super().__init__()
        self.heads, self.groups, self.d = m.num_attention_heads, m.num_query_groups, m.hidden_size // m.num_attention_heads
        self.base = m.rotary_base
        self.norm1, self.norm2 = RMSNorm(m.hidden_size, m.norm_epsilon), RMSNorm(m.hidden_size, m.norm_epsilon)
        self.qkv = nn.Linear(m.hidden_size, self.d * (self.heads + 2 * self.groups), bias=False)
        self.proj = nn.Linear(self.heads * self.d, m.hidden_size, bias=False)
        self.fc1 = nn.Linear(m.hidden_size, 2 * m.ffn_hidden_size, bias=False)  # [gate; up]
        self.fc2 = nn.Linear(m.ffn_hidden_size, m.hidden_size, bias=False)

    def forward(self, x):  # x: [b, s, h]
        b, s, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).split([self.heads * self.d, self.groups * self.d, self.groups * self.d], -1)
        q = rope(q.view(b, s, self.heads, self.d).transpose(1, 2), self.base)
        k = rope(k.view(b, s, self.groups, self.d).transpose(1, 2), self.base)
        v = v.view(b, s, self.groups, self.d).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, s, -1))
        gate, up = self.fc1(self.norm2(x)).chunk(2, -1)
        return x + self.fc2(F.silu(gate) * up)


class PlainLlama(nn.Module):
    def __init__(self, m: C.ModelConfig, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, m.hidden_size)
        self.blocks = nn.ModuleList(Block(m) for _ in range(m.num_layers))
        self.norm, self.out = RMSNorm(m.hidden_size, m.norm_epsilon), nn.Linear(m.hidden_size, vocab, bias=False)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=m.init_method_std)

    def forward(self, tokens, labels):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return F.cross_entropy(self.out(self.norm(x)).flatten(0, 1), labels.flatten())


def batches():
    g = torch.Generator().manual_seed(0)
    while True:
        t = torch.randint(0, VOCAB, (TRAIN.micro_batch_size, MODEL.seq_length + 1), generator=g)
        yield {"tokens": t[:, :-1], "labels": t[:, 1:], "loss_mask": torch.ones(t.shape[0], MODEL.seq_length),
               "position_ids": torch.arange(MODEL.seq_length).expand(t.shape[0], -1)}


def plain_step():
    assert not cpu_shim.active(), "run the plain benchmark before lmsci's (the shim taxes every torch call)"
    torch.manual_seed(0)
    model = PlainLlama(MODEL, PADDED)
    assert sum(p.numel() for p in model.parameters()) == flops.parameter_count(MODEL, PADDED)["total"]
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": TRAIN.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=TRAIN.lr, betas=(TRAIN.adam_beta1, TRAIN.adam_beta2), eps=TRAIN.adam_eps)
    data = batches()

    def step():
        opt.zero_grad(set_to_none=True)
        for _ in range(MICRO):
            b = next(data)
            (model(b["tokens"], b["labels"]) / MICRO).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN.clip_grad)
        opt.step()

    return step, None


def lmsci_step():
    ctx = adapter.distributed(1, 1, seed=0)
    ctx.__enter__()
    module = adapter.build_model(MODEL, VOCAB, 1, 1)
    optimizer = adapter.build_optimizer(module, TRAIN)
    adapter.set_lr(optimizer, TRAIN.lr, TRAIN.weight_decay)
    data = batches()

    def step():
        loss, _ = adapter.train_step(module, optimizer, data, MICRO, MODEL.seq_length, TRAIN.micro_batch_size)
        assert math.isfinite(loss)

    return step, lambda: ctx.__exit__(None, None, None)


@pytest.mark.parametrize("impl", ["plain", "lmsci"])  # this order: see the module docstring
def test_train_step_tokens_per_second(benchmark, impl):
    step, close = (plain_step if impl == "plain" else lmsci_step)()
    try:
        benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    finally:
        if close:
            close()
    if benchmark.stats is None:  # tiny mode: the step ran once, untimed
        assert tiny()
        return
    stats = benchmark.stats.stats
    # median: the typical step; min (best step): least disturbed by other load on a shared machine
    RESULTS[impl] = {"median": TOKENS_PER_STEP / stats.median, "best": TOKENS_PER_STEP / stats.min}
    benchmark.extra_info.update(tokens_per_step=TOKENS_PER_STEP, threads=torch.get_num_threads(),
                                model=C.to_dict(MODEL), **{f"tokens_per_s_{k}": round(v, 1) for k, v in RESULTS[impl].items()})
    if impl == "lmsci" and "plain" in RESULTS:
        for k in ("median", "best"):
            benchmark.extra_info[f"ratio_lmsci_over_plain_{k}"] = round(RESULTS["lmsci"][k] / RESULTS["plain"][k], 3)
        write_json(OUT, {"tokens_per_s": RESULTS, "ratio_lmsci_over_plain": {
            k: benchmark.extra_info[f"ratio_lmsci_over_plain_{k}"] for k in ("median", "best")},
            "goal": 0.9, "rounds": ROUNDS, "threads": torch.get_num_threads(), "model": C.to_dict(MODEL),
            "tokens_per_step": TOKENS_PER_STEP})
