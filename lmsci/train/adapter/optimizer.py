"""AdamW under megatron's optimizer wrappers, and the DistributedOptimizer resume fix (no Apex/TE)."""
from __future__ import annotations

import torch
from megatron.core.distributed import finalize_model_grads
from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer

from lmsci.config import TrainConfig
from lmsci.train.adapter.model import _gpt, chunks
from lmsci.train.adapter.parallel import on_gpu


def build_optimizer(module: torch.nn.Module, train: TrainConfig):
    """AdamW (decoupled weight decay) under megatron's FP32/Float16 optimizer with grad clipping,
    or its DistributedOptimizer with ``train.use_distributed_optimizer`` (the module must have been
    built with the same flag). Weight decay skips biases and 1-D params (norms), megatron's overrides.
    """
    if train.use_distributed_optimizer:
        _fix_distributed_optimizer_resume()
    config = OptimizerConfig(
        optimizer="adam", lr=train.lr, min_lr=train.lr * train.min_lr_ratio, weight_decay=train.weight_decay,
        adam_beta1=train.adam_beta1, adam_beta2=train.adam_beta2, adam_eps=train.adam_eps,
        clip_grad=train.clip_grad, bf16=on_gpu(), params_dtype=torch.bfloat16 if on_gpu() else torch.float32,
        use_distributed_optimizer=train.use_distributed_optimizer,
    )
    optimizer = get_megatron_optimizer(config, chunks(module))
    for chunk in chunks(module):  # the chunks share one TransformerConfig; set it on each anyway
        gpt_config = _gpt(chunk).config
        gpt_config.grad_scale_func = optimizer.scale_loss
        gpt_config.finalize_model_grads_func = finalize_model_grads
    return optimizer


def set_lr(optimizer, lr: float, weight_decay: float) -> None:
    # What megatron's OptimizerParamScheduler.step does, with our schedule supplying lr.
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
        group["weight_decay"] = weight_decay * group.get("wd_mult", 1.0)


def _init_adam_state(optimizer) -> None:
    """Zero Adam state (step 0) for every parameter of a DistributedOptimizer that has not stepped:
    its ``sharded_state_dict(is_loading=True)`` asserts on an empty state without Apex/TE."""
    from megatron.core.optimizer.distrib_optimizer import DistributedOptimizer

    for opt in getattr(optimizer, "chained_optimizers", [optimizer]):
        if isinstance(opt, DistributedOptimizer) and not opt.optimizer.state:
            for group in opt.optimizer.param_groups:
                for p in group["params"]:
                    opt.optimizer.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                              "exp_avg_sq": torch.zeros_like(p)}


def _fix_distributed_optimizer_resume() -> None:
    """Make megatron-core 0.16.1's DistributedOptimizer resume exactly with torch's AdamW (no Apex/TE).

    Upstream, ``load_state_dict`` gives every parameter the *same* ``step`` tensor (torch's
    foreach AdamW then adds 1 per parameter per step, so bias correction drifts) and copies into
    leaf parameters with grad enabled; ``_set_main_param_and_optimizer_states`` then raises
    ``KeyError: 'step'`` because the fully-reshardable state carries no per-parameter step.
    Patched here (once, idempotent): load under no_grad, clone the step per parameter, keep the
    step ``load_state_dict`` restored from the param groups. Verified in /work/shared/notes/megatron-cpu.md.
    """
    from megatron.core.optimizer import distrib_optimizer as mdo

    cls = mdo.DistributedOptimizer
    if mdo.HAVE_APEX_OR_TE or getattr(cls, "_lmsci_resume_fix", False):
        return
    original_load, original_set = cls.load_state_dict, cls._set_main_param_and_optimizer_states

    def load_state_dict(self, state_dict):
        with torch.no_grad():
            original_load(self, state_dict)
        for param_state in self.optimizer.state.values():
            if "step" in param_state:
                param_state["step"] = param_state["step"].detach().clone()

    @torch.no_grad()
    def _set_main_param_and_optimizer_states(self, model_param, tensors):
        if self.config.use_precision_aware_optimizer_no_fp8_or_ds_fp8:  # not lmsci's path: upstream's
            return original_set(self, model_param, tensors)
        group_index, group_order = self.model_param_group_index_map[model_param]
        main_param = self.optimizer.param_groups[group_index]["params"][group_order]
        destination = {"param": main_param, **self.optimizer.state[main_param]}
        for key, value in tensors.items():
            destination[key].copy_(value)

    cls.load_state_dict = load_state_dict
    cls._set_main_param_and_optimizer_states = _set_main_param_and_optimizer_states
    cls._lmsci_resume_fix = True
