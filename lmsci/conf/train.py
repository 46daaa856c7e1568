"""Config section of training: optimizer, schedule, parallel layout, checkpoints."""
from __future__ import annotations

from dataclasses import dataclass, field

from lmsci.conf.base import Section, bounded, fail, unique
from lmsci.conf.model import MAX_BATCH


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
