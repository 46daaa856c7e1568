"""Config section of training: optimizer, schedule, parallel layout, checkpoints, recipe stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import Section, bounded, fail, fraction, unique
from lmsci.conf.model import MAX_BATCH, MAX_SEQ

SCHEDULES = ("cosine", "wsd", "constant")


@dataclass(frozen=True)
class StageConfig(Section):
    """One stage of a training recipe (``train.stages``): it starts from the previous stage's final
    checkpoint (the first from ``train.init_from``, or from scratch) and has its own schedule, data
    mix, sequence length and RoPE settings (Llama 3, Dubey et al. 2024, §3.4: pretrain, long-context
    stages, then an anneal on high-quality data). The other train settings are the section's."""
    name: str  # an identifier; outputs land in <results>/train/stages/<name>/
    steps: int
    lr: float  # peak learning rate of this stage
    warmup_steps: int = 0
    schedule: Literal["cosine", "wsd", "constant"] = "cosine"
    decay_fraction: float = 0.2  # wsd / constant: share of the stage's steps in the final decay (MiniCPM: ~10 %)
    min_lr_ratio: float = 0.1
    # source → weight (summing to 1); {} = the sources' own weights.
    mix: dict[str, float] = field(default_factory=dict)
    # Share of every step's data drawn from the sources' own weights (continued pretraining's replay
    # against forgetting; Ibrahim et al. 2024 "Simple and scalable strategies…": 5 % replay suffices).
    replay: float = 0.0
    seq_length: int = 0  # 0: model.seq_length; longer = context extension (sequences packed to it)
    rotary_base: int = 0  # 0: model.rotary_base (Llama 3: 500,000; raised for long context, Xiong et al. 2023)
    # Overrides of model.rope_scaling's fields (Llama 3.1 style: factor, low_freq_factor, …); {} = the model's.
    rope_scaling: dict[str, float] = field(default_factory=dict)
    optimizer: Literal["keep", "reset"] = "keep"  # the previous stage's Adam moments, or fresh ones

    def check(self) -> None:
        if not self.name.isidentifier() or not self.name.isascii():
            fail("name", "stage names must be identifiers (letters, digits, _)")
        bounded("steps", self.steps, 1, 10**9)
        bounded("lr", self.lr, 0.0, 1.0, lo_open=True, fix="peak learning rate of the stage")
        bounded("warmup_steps", self.warmup_steps, 0, self.steps, hi_open=True, fix="fewer than the stage's steps")
        fraction("decay_fraction", self.decay_fraction)
        fraction("min_lr_ratio", self.min_lr_ratio)
        bounded("replay", self.replay, 0.0, 1.0, hi_open=True, fix="a share in [0, 1)")
        if self.replay and not self.mix:
            fail("replay", "replays the sources' own weights into train.stages[*].mix; list a mix or set 0")
        for k, w in self.mix.items():
            bounded(f"mix.{k}", w, 0.0, 1.0)
        if self.mix and abs(sum(self.mix.values()) - 1.0) > 1e-6:
            fail("mix", f"weights sum to {sum(self.mix.values()):g}; make them sum to 1")
        if self.seq_length:
            bounded("seq_length", self.seq_length, 1, MAX_SEQ)
        bounded("rotary_base", self.rotary_base, 0, 10**9)
        _check_schedule(self)


def _check_schedule(s) -> None:
    if s.schedule == "wsd" and not (0 < s.decay_fraction and 0 < s.min_lr_ratio):
        fail("schedule", "wsd decays geometrically to min_lr_ratio over decay_fraction of the steps: both must be "
             "> 0 (or use schedule: constant)")


@dataclass(frozen=True)
class TrainConfig(Section):
    steps: int
    micro_batch_size: int
    global_batch_size: int
    lr: float
    warmup_steps: int
    min_lr_ratio: float = 0.1  # cosine decay to 10 % of peak (Llama 2, Touvron et al. 2023)
    # cosine (Llama 2); wsd = warmup-stable-decay (MiniCPM, Hu et al. 2024, §4: the last decay_fraction
    # of steps decays); constant = constant, then a linear decay over the last decay_fraction (0: none).
    schedule: Literal["cosine", "wsd", "constant"] = "cosine"
    decay_fraction: float = 0.2  # MiniCPM decays over ~10 % of the steps; 20 % at this project's short runs
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
    # MoE only (model.moe.num_experts > 0): ranks each expert group is split over, inside data parallel
    # (megatron's expert_model_parallel_size; GPU only, 1 on CPU).
    expert_parallel: int = 1
    # megatron's reset_position_ids + reset_attention_mask at every end-of-document token: a token attends
    # only to its own document and its positions restart there (Llama 3 §3.4.1 masks across documents).
    document_masking: bool = False
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
    # What a spike does: log only; skip (no optimizer update for that batch, PaLM's remedy in spirit,
    # Chowdhery et al. 2022 §5.1); rollback (reload the last checkpoint, multiply the LR by
    # spike_lr_factor for the rest of the run; OPT's logbook, Zhang et al. 2022 §2.5), at most
    # max_rollbacks times.
    on_spike: Literal["log", "skip", "rollback"] = "log"
    spike_lr_factor: float = 0.5
    max_rollbacks: int = 3
    # Continued pretraining: start from this checkpoint (an lmsci checkpoint directory in any parallel
    # layout, or a Hugging Face Llama/Mixtral directory with config.json, imported) instead of random
    # weights; "" = from scratch. Only its weights, unless init_optimizer: keep (lmsci checkpoints).
    init_from: str = ""
    init_optimizer: Literal["keep", "reset"] = "reset"
    # A recipe: ordered stages, each from the previous one's final checkpoint ([] = one run, the
    # fields above). steps/lr/warmup_steps/schedule above then apply to nothing but validation.
    stages: list[StageConfig] = field(default_factory=list)

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
        bounded("expert_parallel", self.expert_parallel, 1, 1024)
        if self.data_parallel % self.expert_parallel:
            fail("expert_parallel", f"must divide train.data_parallel ({self.data_parallel}): experts are split "
                 "over data-parallel ranks")
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
        fraction("decay_fraction", self.decay_fraction)
        _check_schedule(self)
        bounded("spike_lr_factor", self.spike_lr_factor, 0.0, 1.0, lo_open=True, fix="the LR multiplier after a "
                "rollback, in (0, 1]")
        bounded("max_rollbacks", self.max_rollbacks, 0, 1000)
        if self.on_spike != "log" and not self.loss_spike_window:
            fail("on_spike", f"{self.on_spike!r} needs spike detection; set train.loss_spike_window > 0")
        if self.init_optimizer == "keep" and not self.init_from:
            fail("init_optimizer", "'keep' needs train.init_from (a checkpoint whose optimizer state to keep)")
        unique("stages", [s.name for s in self.stages])


# ----------------------------------------------------------------------------- recipe stages

STAGES_DIR = "train/stages"  # under the results root: one directory per stage


def stage_dir(results: str, name: str) -> str:
    return f"{results}/{STAGES_DIR}/{name}"


def stage_model(model, stage: StageConfig):
    """The stage's effective ModelConfig: seq_length, rotary_base and rope_scaling overridden.
    Raises FieldError naming the stage's key (``seq_length``, ``rope_scaling.factor``)."""
    import dataclasses

    from lmsci.conf.base import FieldError

    changes = {k: getattr(stage, k) for k in ("seq_length", "rotary_base") if getattr(stage, k)}
    if stage.rope_scaling:
        base = getattr(model, "rope_scaling", None)
        if base is None or not dataclasses.is_dataclass(base):
            fail("rope_scaling", "this model has no model.rope_scaling to override")
        names = {f.name: f for f in dataclasses.fields(base)}
        for k in stage.rope_scaling:
            if k not in names:
                fail(f"rope_scaling.{k}", f"unknown field; choose from {', '.join(names)}")
        # dict[str, float] from YAML: give int fields their ints back (8192.0 → 8192)
        values = {k: int(v) if isinstance(getattr(base, k), int) and float(v).is_integer() else v
                  for k, v in stage.rope_scaling.items()}
        try:
            changes["rope_scaling"] = dataclasses.replace(base, **values)
        except FieldError as e:
            raise e.under("rope_scaling") from None
    return dataclasses.replace(model, **changes)


def stage_train(train: TrainConfig, k: int, results: str) -> TrainConfig:
    """Stage ``k``'s effective TrainConfig: its schedule, started from the previous stage's final
    checkpoint (the first stage from train.init_from), without stages of its own."""
    import dataclasses

    st, prev = train.stages[k], train.stages[k - 1] if k else None
    return dataclasses.replace(
        train, steps=st.steps, lr=st.lr, warmup_steps=st.warmup_steps, schedule=st.schedule,
        decay_fraction=st.decay_fraction, min_lr_ratio=st.min_lr_ratio,
        checkpoint_steps=[s for s in train.checkpoint_steps if s <= st.steps],
        init_from=f"{stage_dir(results, prev.name)}/checkpoint" if prev else train.init_from,
        init_optimizer=st.optimizer if prev else train.init_optimizer, stages=[])


def stage_weights(stage: StageConfig, sources: dict) -> dict[str, float]:
    """source → the stage's sampling weight: its mix blended with the sources' own weights by replay."""
    own = {name: src.weight for name, src in sources.items()}
    if not stage.mix:
        return own
    return {name: (1 - stage.replay) * stage.mix.get(name, 0.0) + stage.replay * w for name, w in own.items()}


def check_stages(cfg, check) -> None:
    """Each stage's mix names configured sources and its effective (model, train) passes ``check``
    (:func:`lmsci.config._check`, the cross-section rules) — errors name ``train.stages[i].<key>``."""
    import dataclasses

    from lmsci.conf.base import ConfigError, FieldError

    for i, st in enumerate(cfg.train.stages):
        where = f"train.stages[{i}]"
        for name in st.mix:
            if name not in cfg.sources:
                fail(f"{where}.mix.{name}", f"unknown source; choose from {', '.join(sorted(cfg.sources))}")
        try:
            model = stage_model(cfg.model, st)
            train = stage_train(cfg.train, i, cfg.results)
        except FieldError as e:
            raise e.under(where) from None
        try:
            check(dataclasses.replace(cfg, model=model, train=train), None)
        except ConfigError as e:
            fail(where, f"stage {st.name!r}: {e}")
