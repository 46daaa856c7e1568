"""Validation perplexity per source at every checkpoint the training run saved (Pythia-style curves).

The checkpoints are found from what the train rule wrote, not from the config: the complete ones
(``lmsci_meta.json`` present, :mod:`lmsci.train.checkpoint`) under ``<train dir>/checkpoints/`` and
the final ``<train dir>/checkpoint/``, one per step (the final one wins a tie). The model is built
once and each checkpoint's weights are loaded into it in turn; scoring is :mod:`.perplexity`'s.
"""
from __future__ import annotations

from pathlib import Path

from lmsci.config import ModelConfig, TrainConfig
from lmsci.evaluate.perplexity import EvaluateError, score_sources, write
from lmsci.train import adapter, checkpoint
from lmsci.train.loop import read_blend


def discover(train_dir: Path) -> list[tuple[int, Path]]:
    """(step, directory) of every complete checkpoint under ``train_dir``, by step."""
    train_dir = Path(train_dir)
    found = {}
    for d in sorted((train_dir / checkpoint.INTERMEDIATE).glob("step_*")):
        if (d / checkpoint.META).is_file():
            found[int(checkpoint.read_meta(d)["step"])] = d
    final = train_dir / checkpoint.FINAL
    if (final / checkpoint.META).is_file():
        found[int(checkpoint.read_meta(final)["step"])] = final
    if not found:
        raise EvaluateError(f"no complete checkpoint under {train_dir} (none with {checkpoint.META}); "
                            "run the train rule first")
    return sorted(found.items())


def evaluate(model: ModelConfig, train: TrainConfig, blend_path: Path, train_dir: Path, max_tokens: int,
             out_json: Path) -> dict:
    """Write ``{"checkpoints": [{step, checkpoint, per_source: {name: {tokens, loss, ppl}}}]}`` to ``out_json``."""
    if max_tokens <= 0:
        raise EvaluateError(f"max_tokens must be > 0 (got {max_tokens}); fix evaluate.checkpoint_max_tokens")
    blend = read_blend(Path(blend_path), model)
    found = discover(train_dir)
    for step, d in found:
        meta = checkpoint.read_meta(d)
        if not checkpoint.same_model(meta, model):
            raise EvaluateError(f"checkpoint {d} (step {step}) was trained with another model config; "
                                "retrain or fix the model config")
    rows = []
    with adapter.distributed(1, 1, int(checkpoint.read_meta(found[-1][1]).get("seed", 0))):
        module = adapter.build_model(model, blend["vocab_size"], 1, 1, wrap_ddp=False)
        for step, d in found:
            adapter.load_checkpoint(d, module)
            rows.append({"step": step, "checkpoint": str(d.relative_to(Path(train_dir))),
                         "per_source": score_sources(module, blend, model, train, max_tokens)})
    result = {"checkpoints": rows}
    write(out_json, result)
    return result
