"""Config sections of the model, training, evaluation and the scaling sweep."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import Section


@dataclass(frozen=True)
class ModelConfig:
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


@dataclass(frozen=True)
class TrainConfig:
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


@dataclass(frozen=True)
class EvaluateConfig:
    max_tokens: int = 200_000  # validation tokens scored per source
    # Per source at every saved checkpoint (eval/checkpoints.json): the same first tokens of each valid
    # set at each step, as Pythia evaluates its 154 checkpoints on fixed sets (Biderman et al. 2023, §3);
    # smaller than max_tokens (and capped by it) because the default run saves 9 checkpoints and scores
    # them all on CPU.
    checkpoint_max_tokens: int = 8192
    # Items per local lm-eval task (eval/lm_eval.json, in the report); 0 scores every item. The tasks are
    # built from held-out documents (lmsci.evaluate.tasks: 200 per source and task).
    lm_eval_limit: int = 0


@dataclass(frozen=True)
class SweepModelConfig:
    # One model shape of the scaling sweep; the other `model` fields (seq_length, norm, RoPE) are shared.
    name: str  # an identifier; runs land in <results>/sweep/<name>/<tokens>/
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_query_groups: int
    ffn_hidden_size: int


@dataclass(frozen=True)
class SweepConfig:
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


