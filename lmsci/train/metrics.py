"""Per-step throughput arithmetic and loss-spike detection: pure functions of numbers the loop has.

TFLOP/s counts model FLOPs (6N + attention per token, :func:`lmsci.train.flops.flops_per_token`), not
hardware FLOPs: activation recomputation would not raise it. MFU = achieved / peak (PaLM,
Chowdhery et al. 2022, App. B), the peak being ``train.peak_tflops`` × the accelerators in use.
"""
from __future__ import annotations

import json
import math
import os
from collections import deque
from pathlib import Path


def tflops(flops_per_token: float, tokens: int, seconds: float) -> float:
    """Achieved model TFLOP/s of the whole run (all ranks) for ``tokens`` processed in ``seconds``."""
    return flops_per_token * tokens / seconds / 1e12 if seconds > 0 else 0.0


def mfu(achieved_tflops: float, peak_tflops: float, devices: int) -> float:
    """Model FLOPs utilisation in [0, 1] (more only if the peak is understated)."""
    return achieved_tflops / (peak_tflops * devices)


class SpikeDetector:
    """z-score of each loss against the previous ``window`` losses (population std).

    :meth:`update` returns the z-score once the window is full (None before, and for window 0);
    a spike is ``z > zscore``. Spikes enter the window too, so a new plateau stops alarming.
    """

    def __init__(self, window: int, zscore: float, history: list[float] = ()) -> None:
        self.window, self.zscore = window, zscore
        self.recent: deque[float] = deque(list(history)[-window:] if window else [], maxlen=window or None)

    def update(self, loss: float) -> float | None:
        z = None
        if self.window and len(self.recent) == self.window:
            mean = sum(self.recent) / self.window
            std = math.sqrt(sum((x - mean) ** 2 for x in self.recent) / self.window)
            z = (loss - mean) / std if std > 0 else (0.0 if loss == mean else math.copysign(math.inf, loss - mean))
        if self.window:
            self.recent.append(loss)
        return z

    def is_spike(self, z: float | None) -> bool:
        return z is not None and z > self.zscore


class AtomicLines:
    """JSON lines to ``.name.tmp``, renamed to ``name`` by :meth:`commit` (a crash leaves no partial file)."""

    def __init__(self, path: Path, rows: list[dict] = ()) -> None:
        self.path, self.tmp, self.rows = Path(path), Path(path).with_name(f".{Path(path).name}.tmp"), []
        self.file = open(self.tmp, "w", buffering=1)  # line-buffered: progress is visible while running
        for row in rows:  # a resumed run's earlier steps
            self.write(row)

    def write(self, record: dict) -> None:
        self.rows.append(record)
        self.file.write(json.dumps(record) + "\n")

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` rows (a rollback to the checkpoint after step ``n``)."""
        rows = self.rows[:n]
        self.file.close()
        self.__init__(self.path, rows)

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)
