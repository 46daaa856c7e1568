"""``make gpu-check``: is this GPU machine ready for lmsci, and how fast does it train the ~1B preset?

Without a CUDA GPU it prints one line saying it skipped and exits 0. With one it runs, in order:

1. NCCL all-reduce over every visible GPU (one process each): the sum is checked, bus bandwidth printed
   (busbw = 2(n-1)/n · bytes / time, nccl-tests' definition).
2. bf16 matmul: a small product checked against fp32, an 8192³ one timed (TFLOP/s, share of peak).
3. TransformerEngine layer spec, when ``transformer_engine`` imports: lmsci's local-spec weights (the
   norms renamed into TE's fused linears, as megatron's local spec maps them) give the same logits in a
   TE-spec GPTModel, and forward+backward of both is timed.
4. The ``llama-1b`` preset (Llama 3.2 1B's shape, lmsci.conf.presets) trained for a few hundred steps
   on synthetic tokens with lmsci's own model, optimizer and step (``lmsci.train.adapter``): tokens/s,
   model TFLOP/s (6N + attention, lmsci.train.flops) and MFU against the GPU's dense bf16 peak
   (goal ≥ 45 %; PaLM, Chowdhery et al. 2022, App. B reports 46.2 % for 540B on TPU v4).

Exit status 1 if a check fails (each failure is one line; LMSCI_DEBUG=1 adds the traceback); MFU below
the goal is reported, not failed.
``--cpu`` runs the same code on CPU (gloo, a tiny model, a few steps) so tests/test_gpu_check.py can
exercise it on a machine without a GPU.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # lmsci from this checkout

# Dense (no sparsity) bf16 peak TFLOP/s of one accelerator, from NVIDIA's datasheets; the first name
# contained in torch.cuda.get_device_name() wins, so the PCIe/NVL variants come before "H100".
PEAK_TFLOPS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0),
               ("A100", 312.0), ("L40S", 362.0))
MFU_GOAL = 0.45  # issue 12: ≥ 45 % on H100/H200


def peak_tflops(device_name: str, override: float | None) -> float | None:
    if override:
        return override
    return next((peak for name, peak in PEAK_TFLOPS if name in device_name), None)


# ----------------------------------------------------------------------------- 1. all-reduce

def _allreduce_worker(rank: int, world: int, port: int, backend: str, numel: int, iters: int, queue) -> None:
    import torch
    import torch.distributed as dist

    gpu = backend == "nccl"
    if gpu:
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        device = torch.device("cuda", rank) if gpu else torch.device("cpu")
        x = torch.full((numel,), float(rank + 1), device=device)
        dist.all_reduce(x)
        ok = torch.tensor([int(bool((x == world * (world + 1) / 2).all()))], device=device)
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)  # every rank's sum is right
        x.fill_(1.0 / world)  # stays 1.0 while timed: no overflow whatever the world size
        if gpu:
            torch.cuda.synchronize()
        dist.barrier()
        t = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(x)
        if gpu:
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - t) / iters
        if rank == 0:
            queue.put((bool(ok.item()), seconds))
    finally:
        dist.destroy_process_group()


def check_allreduce(cpu: bool) -> str:
    import torch
    import torch.multiprocessing as mp

    from lmsci.train.adapter import free_port

    world, backend = (2, "gloo") if cpu else (torch.cuda.device_count(), "nccl")
    numel, iters = (1 << 16, 3) if cpu else (1 << 26, 20)  # 256 MiB of fp32 on GPUs
    # spawn, never fork: CUDA cannot be forked, and a fork of a process whose OpenMP pool has run hangs.
    queue = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_allreduce_worker, args=(world, free_port(), backend, numel, iters, queue), nprocs=world, join=True)
    ok, seconds = queue.get()
    if not ok:
        raise RuntimeError(f"{backend} all-reduce over {world} ranks returned a wrong sum")
    busbw = 2 * (world - 1) / world * numel * 4 / seconds / 1e9
    bw = f"busbw {busbw:.1f} GB/s" if world > 1 else "no bandwidth with one rank"
    return f"{backend} all-reduce over {world} rank(s) correct; {numel * 4 / 2**20:.3g} MiB in {seconds * 1e3:.2f} ms, {bw}"


# ----------------------------------------------------------------------------- 2. bf16 matmul

def check_matmul(cpu: bool, peak: float | None) -> str:
    import torch

    device = "cpu" if cpu else "cuda"
    g = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn(512, 512, device=device, generator=g).bfloat16() for _ in range(2))
    exact = a.float() @ b.float()
    err = ((a @ b).float() - exact).abs().max().item() / exact.abs().max().item()
    if not err < 1e-2:  # bf16 rounds the output to 8 bits of mantissa (0.4 %)
        raise RuntimeError(f"bf16 matmul is off by {err:.2%} of the largest entry (fp32 reference)")
    n, iters = (256, 2) if cpu else (8192, 50)
    a, b = (torch.randn(n, n, device=device, generator=g).bfloat16() for _ in range(2))
    _sync(cpu)
    a @ b  # warm-up (cuBLAS picks its kernel)
    _sync(cpu)
    t = time.perf_counter()
    for _ in range(iters):
        a @ b
    _sync(cpu)
    tflops = 2 * n**3 * iters / (time.perf_counter() - t) / 1e12
    share = f" = {tflops / peak:.0%} of the {peak:g} peak" if peak and not cpu else ""
    return f"bf16 matmul correct (max error {err:.2%}); {n}³: {tflops:.1f} TFLOP/s{share}"


def _sync(cpu: bool) -> None:
    if not cpu:
        import torch
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------- 3. TransformerEngine spec

def check_te_spec(cpu: bool) -> str:
    if cpu or importlib.util.find_spec("transformer_engine") is None:
        return "skipped: transformer_engine is not importable" + (" (--cpu)" if cpu else "")
    import dataclasses

    import torch
    # The one megatron import outside lmsci.train.adapter: lmsci builds the local spec only, and this
    # check asks whether TE's spec would be a drop-in (same weights, same logits, faster).
    from megatron.core.models.gpt import GPTModel
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_with_transformer_engine_spec
    from megatron.core.transformer.module import Float16Module

    from lmsci.config import ModelConfig
    from lmsci.train import adapter

    model = ModelConfig(num_layers=4, hidden_size=1024, num_attention_heads=16, num_query_groups=4,
                        ffn_hidden_size=4096, seq_length=2048, rotary_base=500_000)
    vocab = 32_000
    x = torch.randint(0, vocab, (2, model.seq_length), generator=torch.Generator().manual_seed(0))
    with adapter.distributed(1, 1, seed=0):
        local = adapter.build_model(model, vocab, 1, 1, wrap_ddp=False)  # Float16Module(GPTModel), bf16
        config = dataclasses.replace(adapter.transformer_config(model, 1, 1), use_cpu_initialization=False)
        te = GPTModel(config=config, transformer_layer_spec=get_gpt_layer_with_transformer_engine_spec(),
                      vocab_size=adapter.padded_vocab_size(vocab), max_sequence_length=model.seq_length,
                      position_embedding_type="rope", rotary_base=model.rotary_base,
                      share_embeddings_and_output_weights=model.tie_embeddings)
        te = Float16Module(config, te.cuda())
        # TE fuses each RMSNorm into the linear after it (the key map megatron's local spec declares).
        fused = {"input_layernorm.": "self_attention.linear_qkv.layer_norm_",
                 "pre_mlp_layernorm.": "mlp.linear_fc1.layer_norm_"}
        weights = {}
        for key, value in local.module.state_dict().items():
            if "_extra_state" not in key:
                for old, new in fused.items():
                    key = key.replace(old, new)
                weights[key] = value
        missing, unexpected = te.module.load_state_dict(weights, strict=False)
        missing = [k for k in missing if "_extra_state" not in k]
        if missing or unexpected:
            raise RuntimeError(f"TE-spec model does not take the local spec's weights: missing {missing[:3]}, "
                               f"unexpected {unexpected[:3]}")
        ref, got = adapter.logits(local, x), adapter.logits(te, x)
        rel = ((got - ref).abs().max() / ref.abs().max()).item()
        if not rel < 0.05:  # bf16 with different kernels: agreement to a few bf16 ulps, not bits
            raise RuntimeError(f"TE-spec logits differ from the local spec's by {rel:.1%} of the largest")
        times = {name: _fwd_bwd_ms(m, x) for name, m in (("local", local), ("te", te))}
    return (f"TE layer spec takes lmsci's weights, logits agree ({rel:.2%} max rel.); fwd+bwd "
            f"{times['te']:.1f} ms vs local {times['local']:.1f} ms ({times['local'] / times['te']:.2f}x)")


def _fwd_bwd_ms(module, x, iters: int = 10) -> float:
    import torch

    module.train()
    x = x.cuda()
    pos = torch.arange(x.shape[1], device=x.device).unsqueeze(0).expand_as(x)
    for i in range(iters + 2):  # two warm-up rounds
        if i == 2:
            torch.cuda.synchronize()
            t = time.perf_counter()
        module(x, pos, None, labels=x).float().mean().backward()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / iters * 1e3


# ----------------------------------------------------------------------------- 4. llama-1b training

def check_training(cpu: bool, peak: float | None, steps: int, seq_length: int, micro_batch_size: int,
                   accumulation: int, vocab: int) -> tuple[str, dict]:
    from lmsci.conf.presets import PRESETS
    from lmsci.config import ModelConfig, TrainConfig
    from lmsci.train import adapter, flops, metrics

    preset = "tiny" if cpu else "llama-1b"
    model = ModelConfig(**PRESETS[preset], seq_length=seq_length, preset=preset)
    train = TrainConfig(steps=steps, micro_batch_size=micro_batch_size,
                        global_batch_size=micro_batch_size * accumulation, lr=3e-4, warmup_steps=0)
    device = "cpu" if cpu else "cuda"
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, vocab, 1, 1)  # bf16 under Float16Module and megatron DDP on GPU
        optimizer = adapter.build_optimizer(module, train)
        batches = _synthetic(vocab, micro_batch_size, seq_length, device)
        losses, seconds = [], []
        for _ in range(steps):
            _sync(cpu)
            t = time.perf_counter()
            loss, _ = adapter.train_step(module, optimizer, batches, accumulation, seq_length, micro_batch_size)
            _sync(cpu)
            seconds.append(time.perf_counter() - t)
            losses.append(loss)
        memory_gib = adapter.max_memory_mb() / 1024
    if not all(math.isfinite(x) for x in losses):
        raise RuntimeError(f"{preset}: non-finite training loss {losses}")
    steady = sorted(seconds[min(10, steps // 2):])  # the first steps allocate and pick kernels
    step_s = steady[len(steady) // 2]  # median
    tokens = micro_batch_size * accumulation * seq_length
    per_token = flops.flops_per_token(model, adapter.padded_vocab_size(vocab))
    tflops = metrics.tflops(per_token, tokens, step_s)
    mfu = metrics.mfu(tflops, peak, 1) if peak else None
    goal = "" if mfu is None else f" (goal ≥ {MFU_GOAL:.0%}: {'met' if mfu >= MFU_GOAL else 'NOT met'})"
    figures = {"preset": preset, "steps": steps, "seq_length": seq_length, "micro_batch_size": micro_batch_size,
               "accumulation": accumulation, "vocab": vocab, "tokens_per_s": tokens / step_s, "tflops": tflops,
               "mfu": mfu, "peak_tflops": peak, "first_loss": losses[0], "last_loss": losses[-1],
               "max_memory_gib": memory_gib, "step_s_median": step_s}
    mfu_s = "n/a (unknown peak: pass --peak-tflops)" if mfu is None else f"{mfu:.1%}"
    return (f"{preset}: {steps} steps of {tokens:,} tokens: {tokens / step_s:,.0f} tokens/s, {tflops:.1f} TFLOP/s, "
            f"MFU {mfu_s}{goal}; loss {losses[0]:.3f} → {losses[-1]:.3f}; peak memory {memory_gib:.1f} GiB"), figures


def _synthetic(vocab: int, micro_batch_size: int, seq_length: int, device: str):
    """Micro-batches of uniform random tokens (throughput does not depend on what the tokens say)."""
    import torch

    g = torch.Generator(device=device).manual_seed(0)
    position_ids = torch.arange(seq_length, device=device).unsqueeze(0).expand(micro_batch_size, -1)
    loss_mask = torch.ones(micro_batch_size, seq_length, device=device)
    while True:
        tokens = torch.randint(0, vocab, (micro_batch_size, seq_length + 1), device=device, generator=g)
        yield {"tokens": tokens[:, :-1], "labels": tokens[:, 1:], "loss_mask": loss_mask, "position_ids": position_ids}


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seq-length", type=int, default=4096)
    p.add_argument("--micro-batch-size", type=int, default=4)
    p.add_argument("--accumulation", type=int, default=2, help="micro-batches per step")
    p.add_argument("--vocab", type=int, default=128_256, help="Llama 3's vocabulary")
    p.add_argument("--peak-tflops", type=float, help="dense bf16 peak of one GPU (default: from its name)")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--cpu", action="store_true", help="run the checks on CPU, tiny (tests the code path)")
    a = p.parse_args(argv)

    import torch

    if not a.cpu and not torch.cuda.is_available():
        print("gpu-check: skipped: no CUDA GPU on this machine (torch.cuda.is_available() is False)")
        return 0
    if a.cpu:
        a.steps, a.seq_length, a.micro_batch_size, a.accumulation, a.vocab = min(a.steps, 4), 32, 2, 2, 512
        name = "cpu"
    else:
        name = torch.cuda.get_device_name(0)
    peak = peak_tflops(name, a.peak_tflops)
    print(f"gpu-check: {name}, {torch.cuda.device_count() if not a.cpu else 0} GPU(s), torch {torch.__version__}, "
          f"peak {peak or 'unknown'} TFLOP/s", flush=True)
    checks = [("all-reduce", lambda: check_allreduce(a.cpu)), ("matmul", lambda: check_matmul(a.cpu, peak)),
              ("te-spec", lambda: check_te_spec(a.cpu)),
              ("train", lambda: check_training(a.cpu, peak, a.steps, a.seq_length, a.micro_batch_size,
                                               a.accumulation, a.vocab))]
    failed, figures = 0, {"device": name}
    for check, fn in checks:
        try:
            line = fn()
            if isinstance(line, tuple):
                line, figures[check] = line
            print(f"gpu-check: {check}: {line}", flush=True)
        except Exception as e:  # report every check, not the first failure; each in one line
            failed += 1
            print(f"gpu-check: {check}: FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  flush=True)
            if os.environ.get("LMSCI_DEBUG"):
                traceback.print_exc(file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"gpu-check: {'all checks passed' if not failed else f'{failed} check(s) failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
