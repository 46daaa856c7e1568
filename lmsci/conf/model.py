"""Config sections of the model, evaluation and the scaling sweep (training: :mod:`lmsci.conf.train`)."""
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
class RopeScalingConfig(Section):
    # Llama 3.1's RoPE frequency scaling for context extension (HF rope_scaling {"rope_type": "llama3"};
    # Dubey et al. 2024 §3.4.2; transformers' _compute_llama3_parameters): wavelengths longer than
    # original_max_position_embeddings / low_freq_factor are stretched by `factor`, shorter than
    # original / high_freq_factor kept, and the band between interpolated smoothly.
    factor: float = 0.0  # 0 = off (plain RoPE); Llama 3.1: 8.0
    low_freq_factor: float = 1.0  # Llama 3.1
    high_freq_factor: float = 4.0  # Llama 3.1
    original_max_position_embeddings: int = 8192  # the pretraining context (Llama 3: 8,192)

    def check(self) -> None:
        bounded("factor", self.factor, 0.0, 1024.0, fix="0 turns scaling off; Llama 3.1 uses 8")
        if 0.0 < self.factor < 1.0:
            fail("factor", f"must be 0 (off) or >= 1 (got {self.factor:g}); it stretches long wavelengths")
        bounded("low_freq_factor", self.low_freq_factor, 0.0, 1024.0, lo_open=True, fix="Llama 3.1: 1")
        bounded("high_freq_factor", self.high_freq_factor, 0.0, 1024.0, lo_open=True, fix="Llama 3.1: 4")
        if self.high_freq_factor <= self.low_freq_factor:  # the smoothing divides by their difference
            fail("high_freq_factor", f"must be greater than low_freq_factor {self.low_freq_factor:g} "
                 "(Llama 3.1: 4 > 1)")
        bounded("original_max_position_embeddings", self.original_max_position_embeddings, 1, MAX_SEQ,
                fix="the context length the model was pretrained at (Llama 3: 8192)")

    @property
    def enabled(self) -> bool:
        return self.factor > 0


@dataclass(frozen=True)
class MoEConfig(Section):
    # Mixture-of-experts MLPs (megatron-core's MoE layer, local spec): every layer's MLP becomes
    # num_experts SwiGLU experts behind a top-k softmax router (Mixtral, Jiang et al. 2024: 8 experts, top 2).
    num_experts: int = 0  # 0 = dense MLPs
    top_k: int = 2  # experts per token (Mixtral: 2)
    ffn_hidden_size: int = 0  # per expert; 0 = model.ffn_hidden_size
    # Switch load-balancing loss (Fedus et al. 2022 §2.2: alpha = 1e-2; Mixtral via HF router_aux_loss_coef 0.02).
    aux_loss_coeff: float = 0.01
    # Router z-loss (ST-MoE, Zoph et al. 2022 §3.2: 1e-3).
    z_loss_coeff: float = 0.001

    def check(self) -> None:
        bounded("num_experts", self.num_experts, 0, 1024, fix="0 for dense MLPs (Mixtral: 8)")
        if self.num_experts == 1:
            fail("num_experts", "must be 0 (dense) or >= 2: one routed expert is a dense MLP with a router")
        bounded("top_k", self.top_k, 1, max(self.num_experts, 1) if self.num_experts else 1024,
                fix=f"experts per token, at most num_experts ({self.num_experts})")
        bounded("ffn_hidden_size", self.ffn_hidden_size, 0, 4 * MAX_WIDTH, fix="0 = model.ffn_hidden_size")
        bounded("aux_loss_coeff", self.aux_loss_coeff, 0.0, 10.0, fix="Switch Transformer: 0.01")
        bounded("z_loss_coeff", self.z_loss_coeff, 0.0, 10.0, fix="ST-MoE: 0.001")

    @property
    def enabled(self) -> bool:
        return self.num_experts > 0


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
    rope_scaling: RopeScalingConfig = field(default_factory=RopeScalingConfig)
    moe: MoEConfig = field(default_factory=MoEConfig)

    def __post_init__(self) -> None:
        # Checkpoint metadata and torchrun specs carry the model as dataclasses.asdict(): rebuild the
        # sub-sections from their dicts; metadata written before they existed lacks them (the defaults).
        for name, cls in (("rope_scaling", RopeScalingConfig), ("moe", MoEConfig)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, cls(**value))
        super().__post_init__()

    @property
    def moe_ffn_hidden_size(self) -> int:
        return self.moe.ffn_hidden_size or self.ffn_hidden_size

    def check(self) -> None:
        check_shape(self)
        bounded("seq_length", self.seq_length, 1, MAX_SEQ, fix="tokens per sequence (128k at most)")
        bounded("rotary_base", self.rotary_base, 1, 10**9)
        bounded("norm_epsilon", self.norm_epsilon, 0.0, 0.1, lo_open=True)
        bounded("init_method_std", self.init_method_std, 0.0, 1.0, lo_open=True, fix="std of the initial weights "
                "(GPT-2: 0.02)")


def check_layout(model: ModelConfig, tensor_parallel: int, expert_parallel: int) -> None:
    """The model's MoE fields against the training layout (keys named from the top of the config)."""
    if expert_parallel > 1 and not model.moe.enabled:
        fail("train.expert_parallel", "must be 1 for a dense model (set model.moe.num_experts > 0 for experts)")
    if model.moe.enabled and model.moe.num_experts % expert_parallel:
        fail("train.expert_parallel", f"must divide model.moe.num_experts {model.moe.num_experts}")
    if model.moe.enabled and tensor_parallel > 1 and model.seq_length % tensor_parallel:
        fail("train.tensor_parallel", f"must divide model.seq_length {model.seq_length}: an MoE model under tensor "
             "parallelism splits each sequence over the TP ranks (sequence parallelism)")
    if model.moe.enabled and model.moe_ffn_hidden_size % tensor_parallel:
        fail("train.tensor_parallel", f"must divide the expert ffn_hidden_size {model.moe_ffn_hidden_size} "
             "(model.moe.ffn_hidden_size, or model.ffn_hidden_size when 0)")


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


