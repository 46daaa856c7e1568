"""``lmsci publish-checkpoints``: the finished training run's checkpoints as one declared output.

The train rule cannot declare ``checkpoints/`` (Snakemake deletes a declared output before the job
runs, and a killed run resumes from those intermediate checkpoints: lmsci.train.checkpoint). A
separate rule, after training, publishes the complete ones into its own declared directory with
the train directory's layout (``checkpoints/step_NNNNNNN/`` and the final ``checkpoint/``), so
Snakemake, DVC (``dvc push`` / ``lmsci pull``), ``lmsci verify`` and the per-checkpoint evaluation
all see them, and resume keeps its own copies untouched.

Files are hard links when the filesystem allows (no second copy on disk; a checkpoint is written
into ``<name>.tmp/`` and renamed, never edited in place, so a link cannot change under the
published copy), else copies.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

# lmsci.train.checkpoint's names (not imported: that module loads megatron-core, seconds for a copy job);
# tests/train/test_publish.py checks they agree.
META, FINAL, INTERMEDIATE = "lmsci_meta.json", "checkpoint", "checkpoints"


class PublishError(RuntimeError):
    """Nothing to publish: one line naming the directory."""


def complete(train_dir: Path) -> list[Path]:
    """Every complete checkpoint directory (``lmsci_meta.json`` present) under ``train_dir``."""
    train_dir = Path(train_dir)
    found = sorted(d for d in (train_dir / INTERMEDIATE).glob("step_" + "[0-9]" * 7) if (d / META).is_file())
    return found + ([train_dir / FINAL] if (train_dir / FINAL / META).is_file() else [])


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def publish(train_dir: Path, out_dir: Path) -> list[Path]:
    """Mirror the complete checkpoints of ``train_dir`` into ``out_dir`` (replaced); returns them."""
    train_dir, out_dir = Path(train_dir), Path(out_dir)
    found = complete(train_dir)
    if not found:
        raise PublishError(f"no complete checkpoint under {train_dir} (none with {META}); run the train rule first")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for d in found:
        shutil.copytree(d, tmp / d.relative_to(train_dir), copy_function=_link_or_copy)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return [out_dir / d.relative_to(train_dir) for d in found]
