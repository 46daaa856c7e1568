"""torchrun entry point: one training rank. ``train()`` launches this when world_size > 1.

Usage (by :func:`lmsci.train.loop.train`, not by hand):
    python -m torch.distributed.run --nproc-per-node W -m lmsci.train.worker SPEC.json
where SPEC.json is :meth:`lmsci.train.recipe.Run.spec` ({"model", "train", "seed", "blend_path", "out_dir"}).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    # Imported here, not at module level: dist_checkpointing's spawned helper re-imports this
    # module, and keeping megatron out of that import saves ~4 s per checkpoint per rank.
    from lmsci.train import loop
    from lmsci.train.recipe import Run

    if len(argv) != 1:
        raise SystemExit("usage: python -m lmsci.train.worker SPEC.json (launched by lmsci.train.loop)")
    loop.run_rank(Run.from_spec(json.loads(Path(argv[0]).read_text())))


# The guard is required: dist_checkpointing's writer starts a spawn-context process, which
# re-imports the main module.
if __name__ == "__main__":
    main(sys.argv[1:])
