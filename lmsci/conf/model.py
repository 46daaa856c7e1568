"""Config sections of the model, training, evaluation and the scaling sweep."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import Section, bounded, fail, unique

MAX_SEQ = 131_072  # Llama 3.1's 128k context: the longest a published dense recipe trains on
MAX_BATCH = 2**20  # sequences per optimizer step (Llama 3 405B: 16M tokens = 2,048 × 8,192)
MAX_WIDTH = 2**16  # hidden size (Llama 3 405B: 16,384)


def check_shape(m) -> None:
    """The transformer shape fields a model and a sweep model share: bounds and divisibility."""
    bounded("num_layers", m.num_layers, 1, 1024)
    bounded("hidden_size", m.hidden_size, 1, MAX_WIDTH)
    bounded("num_attention_heads", m.num_attention_heads, 1, 1024)
    bounded("num_query_groups", m.num_query_groups, 1, m.num_attention_heads,
            fix="query groups (KV heads) are at most the attention heads")
    bounded("ffn_hidden_size", m.ffn_hidden_size, 1, 4 * MAX_WIDTH)
    if m.hidden_size % m.num_attention_heads:
        fail("num_attention_heads", f"must divide hidden_size {m.hidden_size}")
    if m.num_attention_heads % m.num_query_groups:
        fail("num_query_groups", f"must divide num_attention_heads {m.num_attention_heads}")


@dataclass(frozen=True)
class ModelConfig(Section):
    # Llama-style GPT: RMSNorm, SwiGLU, RoPE, GQA (num_query_groups < num_attention_heads).
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_query_groups: int
    ffn_hidden_size: int
    seq_length: int
    tie_embeddings: bool = False
    rotary_base: int = 10_000  # Llama 1/2 (Touvron et al. 2023)
    norm_epsilon: float = 1e-5  # Llama 2
    init_method_std: float = 0.02  # GPT-2 / Megatron default
    # A published shape (lmsci.train.presets: Pythia, Biderman et al. 2023; Llama 3.2 1B; Llama 2 7B)
    # that fills the fields above; fields given explicitly override it. "" = every field explicit.
    preset: Literal["", "tiny", "pythia-160m", "pythia-410m", "pythia-1b", "llama-1b", "llama-7b"] = ""

    def check(self) -> None:
        check_shape(self)
        bounded("seq_length", self.seq_length, 1, MAX_SEQ, fix="tokens per sequence (128k at most)")
        bounded("rotary_base", self.rotary_base, 1, 10**9)
        bounded("norm_epsilon", self.norm_epsilon, 0.0, 0.1, lo_open=True)
        bounded("init_method_std", self.init_method_std, 0.0, 1.0, lo_open=True, fix="std of the initial weights "
                "(GPT-2: 0.02)")


@dataclass(frozen=True)
class TrainConfig(Section):
    steps: int
    micro_batch_size: int
    global_batch_size: int
    lr: float
    warmup_steps: int
    min_lr_ratio: float = 0.1  # cosine decay to 10 % of peak (Llama 2, Touvron et al. 2023)
    weight_decay: float = 0.1  # Llama 2
    adam_beta1: float = 0.9  # Llama 2
    adam_beta2: float = 0.95  # Llama 2
    adam_eps: float = 1e-8
    clip_grad: float = 1.0  # Llama 2
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    # SLURM: nodes to spread the tensor × pipeline × data-parallel ranks over (srun + torchrun,
    # lmsci.train.launch) and GPUs per node, one rank each (0: CPU ranks over gloo).
    nodes: int = 1
    gpus_per_node: int = 0
    # Model chunks per pipeline rank: > 1 is megatron's interleaved 1F1B schedule (Narayanan et al.
    # 2021, §2.2: the bubble shrinks by this factor for that many times the p2p traffic); 1 = plain 1F1B.
    virtual_pipeline: int = 1
    # megatron's DistributedOptimizer (ZeRO-1: Adam state sharded over data-parallel ranks); lmsci
    # fixes its resume without Apex/TE (lmsci.train.adapter, /work/shared/notes/megatron-cpu.md).
    use_distributed_optimizer: bool = False
    log_interval: int = 10
    # Checkpoints after these optimizer steps (Pythia, Biderman et al. 2023: 1, 2, 4, …, 512, then
    # every 1000): powers of two up to checkpoint_log_max (0: none), every checkpoint_interval
    # steps (0: none), any listed in checkpoint_steps, and always the last step. Intermediate ones
    # land in <out>/checkpoints/step_NNNNNNN/, the last in <out>/checkpoint/.
    checkpoint_log_max: int = 512
    checkpoint_interval: int = 1000
    checkpoint_steps: list[int] = field(default_factory=list)
    # Resuming from a checkpoint made on other data (blend, tokenizer, seq_length) fails unless True.
    allow_data_change: bool = False
    # Peak dense throughput in TFLOP/s of one accelerator, for MFU (H100 SXM bf16: 989). On CPU all
    # ranks share one machine and this is the machine's: the default is the 2-core AVX-512 reference
    # box, 2 cores × 2.0 GHz × 64 fp32 FLOPs/cycle (2 FMA units × 16 lanes × 2) = 0.256.
    peak_tflops: float = 0.256
    # A step whose loss is more than loss_spike_zscore standard deviations above the mean of the
    # previous loss_spike_window steps logs a warning (0 disables).
    loss_spike_window: int = 50
    loss_spike_zscore: float = 4.0

    @property
    def world_size(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel * self.data_parallel

    def check(self) -> None:
        bounded("steps", self.steps, 1, 10**9)
        bounded("global_batch_size", self.global_batch_size, 1, MAX_BATCH)
        bounded("micro_batch_size", self.micro_batch_size, 1, self.global_batch_size,
                fix="sequences per micro-batch, at most train.global_batch_size")
        bounded("lr", self.lr, 0.0, 1.0, lo_open=True, fix="peak learning rate (Llama 2 7B: 3e-4)")
        bounded("warmup_steps", self.warmup_steps, 0, self.steps, hi_open=True, fix="fewer than train.steps")
        bounded("weight_decay", self.weight_decay, 0.0, 1.0)
        bounded("adam_beta1", self.adam_beta1, 0.0, 1.0, hi_open=True, fix="Adam needs beta in [0, 1) (Kingma & Ba 2015)")
        bounded("adam_beta2", self.adam_beta2, 0.0, 1.0, hi_open=True, fix="Adam needs beta in [0, 1) (Kingma & Ba 2015)")
        bounded("adam_eps", self.adam_eps, 0.0, 1.0, lo_open=True)
        bounded("clip_grad", self.clip_grad, 0.0, 1e6, fix="gradient norm; 0 turns clipping off")
        for key in ("tensor_parallel", "pipeline_parallel", "data_parallel", "virtual_pipeline"):
            bounded(key, getattr(self, key), 1, 1024)
        bounded("nodes", self.nodes, 1, 4096)
        if self.world_size % self.nodes:
            fail("nodes", f"must divide tensor × pipeline × data parallel = {self.world_size}")
        if self.gpus_per_node not in (0, self.world_size // self.nodes):
            fail("gpus_per_node", f"must be 0 (CPU) or the ranks per node, {self.world_size // self.nodes} (one per GPU)")
        if self.global_batch_size % (self.micro_batch_size * self.data_parallel):
            fail("global_batch_size", "must be a multiple of micro_batch_size × data_parallel")
        if self.virtual_pipeline > 1 and self.pipeline_parallel == 1:
            fail("virtual_pipeline", "must be 1, or > 1 only with train.pipeline_parallel > 1 (interleaved 1F1B)")
        micro = self.global_batch_size // (self.micro_batch_size * self.data_parallel)
        if self.virtual_pipeline > 1 and micro % self.pipeline_parallel:  # megatron's microbatch_group_size_per_vp_stage
            fail("virtual_pipeline", f"interleaving needs micro-batches per step ({micro}) to be a multiple of "
                 f"pipeline_parallel ({self.pipeline_parallel}); raise global_batch_size or lower micro_batch_size")
        bounded("log_interval", self.log_interval, 1, 10**9)
        unique("checkpoint_steps", self.checkpoint_steps)
        if any(not 0 < s <= self.steps for s in self.checkpoint_steps):
            fail("checkpoint_steps", f"every step must be in [1, steps={self.steps}]")
        bounded("peak_tflops", self.peak_tflops, 0.0, 1e6, lo_open=True, fix="TFLOP/s of one accelerator; 0.256 "
                "for the reference CPU")
        bounded("loss_spike_zscore", self.loss_spike_zscore, 0.0, 1e3, lo_open=True,
                fix="set train.loss_spike_window: 0 to disable")


@dataclass(frozen=True)
class EvaluateConfig(Section):
    max_tokens: int = 200_000  # validation tokens scored per source
    # Per source at every saved checkpoint (eval/checkpoints.json): the same first tokens of each valid
    # set at each step, as Pythia evaluates its 154 checkpoints on fixed sets (Biderman et al. 2023, §3);
    # smaller than max_tokens (and capped by it) because the default run saves 9 checkpoints and scores
    # them all on CPU.
    checkpoint_max_tokens: int = 8192
    # Items per local lm-eval task (eval/lm_eval.json, in the report); 0 scores every item. The tasks are
    # built from held-out documents (lmsci.evaluate.tasks: 200 per source and task).
    lm_eval_limit: int = 0

    def check(self) -> None:
        bounded("max_tokens", self.max_tokens, 1, 2**40)
        bounded("checkpoint_max_tokens", self.checkpoint_max_tokens, 1, 2**40)


@dataclass(frozen=True)
class SweepModelConfig(Section):
    # One model shape of the scaling sweep; the other `model` fields (seq_length, norm, RoPE) are shared.
    name: str  # an identifier; runs land in <results>/sweep/<name>/<tokens>/
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_query_groups: int
    ffn_hidden_size: int

    def check(self) -> None:
        if not self.name.isidentifier() or not self.name.isascii():
            fail("name", f"{self.name!r} must be an identifier (letters, digits, _): it names the run's directory")
        check_shape(self)


@dataclass(frozen=True)
class SweepConfig(Section):
    # The scaling-law sweep (`snakemake sweep`, configs/sweep.yaml; lmsci.scaling): one run per
    # model × token budget, trained like `train` but for tokens / (global_batch_size × seq_length)
    # steps, scored with `evaluate`, then L(N, D) = E + A/N^α + B/D^β fitted (Hoffmann et al. 2022).
    models: list[SweepModelConfig] = field(default_factory=list)  # empty: no sweep
    tokens: list[int] = field(default_factory=list)  # training tokens of a run; multiples of the tokens per step
    warmup_fraction: float = 0.1  # warmup steps / steps of a run (config.yaml's train: 30 of 300)
    target_flops: float = 5.76e23  # C for the compute-optimal N, D: Gopher's budget (Hoffmann et al. 2022, Sec. 3.4)
    resamples: int = 200  # bootstrap resamples of the runs (seeded by `seed`) for the confidence intervals
    ci_level: float = 0.95  # percentile interval
    isoflop_rtol: float = 0.1  # runs whose 6·N·D agree within this share form one IsoFLOP budget

    def check(self) -> None:
        unique("models", [m.name for m in self.models])
        unique("tokens", self.tokens)
        for i, t in enumerate(self.tokens):
            bounded(f"tokens[{i}]", t, 1, 2**50)
        bounded("warmup_fraction", self.warmup_fraction, 0.0, 1.0, hi_open=True)
        bounded("target_flops", self.target_flops, 0.0, 1e30, lo_open=True)
        bounded("resamples", self.resamples, 1, 100_000)
        bounded("ci_level", self.ci_level, 0.0, 1.0, lo_open=True, hi_open=True)
        bounded("isoflop_rtol", self.isoflop_rtol, 0.0, 1.0)


