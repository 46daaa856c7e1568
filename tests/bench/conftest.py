"""Collects the training benchmark's tokens/s and prints the lmsci / plain-PyTorch ratio."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS: dict[str, dict[str, float]] = {}


def pytest_terminal_summary(terminalreporter):
    if {"plain", "lmsci"} <= RESULTS.keys():
        for k in ("median", "best"):
            lm, plain = RESULTS["lmsci"][k], RESULTS["plain"][k]
            terminalreporter.write_line(f"train step tokens/s ({k} step): lmsci {lm:,.0f}, plain PyTorch {plain:,.0f}, "
                                        f"ratio {lm / plain:.3f} (goal >= 0.9)")
