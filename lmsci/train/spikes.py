"""What a loss spike does (``train.on_spike``): log it, skip the batch's update, or roll back.

    log       a warning and ``spike_action: "log"`` in metrics.jsonl (what lmsci always did)
    skip      the optimizer step is not taken for that batch (its data is still consumed): PaLM
              skipped ~200–500 batches around each spike (Chowdhery et al. 2022, §5.1); here only the
              spiking one, decided on the cross-rank mean loss before the update
    rollback  reload the last complete checkpoint and multiply the LR by ``spike_lr_factor`` for the
              rest of the run (OPT-175B's logbook restarts, Zhang et al. 2022, §2.5), at most
              ``max_rollbacks`` times; then the run fails with one line

The state (LR scale, rollbacks, skipped batches) is a checkpoint's ``spikes`` meta, so a resumed run
continues exactly; every event is counted in each metrics row (``skipped``, ``rollbacks``).
"""
from __future__ import annotations

from lmsci.config import TrainConfig
from lmsci.train import adapter, metrics
from lmsci.train.recipe import TrainError


class SpikePolicy:
    def __init__(self, train: TrainConfig) -> None:
        self.train = train
        self.state = {"lr_scale": 1.0, "rollbacks": 0, "skipped": 0}
        self.detector = metrics.SpikeDetector(train.loss_spike_window, train.loss_spike_zscore)

    def restore(self, state: dict | None) -> None:
        if state:
            self.state = dict(state)

    def start(self, losses: list[float]) -> None:
        """The loss history before the next step (a run's first step, a resume, a rollback)."""
        self.detector = metrics.SpikeDetector(self.train.loss_spike_window, self.train.loss_spike_zscore, losses)

    def step(self, module, optimizer, batches, num_micro: int, seq_length: int, t: TrainConfig):
        """One training step under the policy: (loss, grad_norm, z, action, aux_losses) with action None
        (no spike), "log", "skip" or "rollback" (the caller reloads; the update was not applied)."""
        seen: dict = {}

        def accept(loss: float) -> bool:
            seen["z"] = z = self.detector.update(loss)
            seen["spike"] = self.detector.is_spike(z)
            return not (seen["spike"] and t.on_spike != "log")

        result = adapter.step(module, optimizer, batches, num_micro, seq_length, t.micro_batch_size, accept=accept)
        loss, grad_norm, aux = result.loss, result.grad_norm, dict(result.aux_losses)
        if not seen.get("spike"):
            return loss, grad_norm, seen.get("z"), None, aux
        if t.on_spike == "skip":
            self.state["skipped"] += 1
        elif t.on_spike == "rollback":
            if self.state["rollbacks"] >= t.max_rollbacks:
                raise TrainError(f"loss spike ({loss:.4f}, z = {seen['z']:.1f}) after {t.max_rollbacks} rollbacks; "
                                 "lower train.lr, raise train.max_rollbacks or set train.on_spike: skip")
            self.state["rollbacks"] += 1
            self.state["lr_scale"] *= t.spike_lr_factor
        return loss, grad_norm, seen["z"], t.on_spike, aux
