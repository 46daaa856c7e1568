"""lmsci.train.metrics: TFLOP/s and MFU arithmetic, loss-spike z-scores."""
from __future__ import annotations

import math

import pytest

from lmsci.train import metrics
from lmsci.train.metrics import SpikeDetector


def test_tflops_and_mfu():
    # 1 GFLOP/token × 512 tokens in 0.5 s = 1.024 TFLOP/s; on 4 devices of 0.256 TFLOP/s: 100 %.
    assert metrics.tflops(1e9, 512, 0.5) == pytest.approx(1.024)
    assert metrics.mfu(1.024, 0.256, 4) == pytest.approx(1.0)
    assert metrics.mfu(0.128, 0.256, 1) == pytest.approx(0.5)
    assert metrics.tflops(1e9, 512, 0.0) == 0.0


def test_spike_needs_a_full_window_then_flags_outliers():
    d = SpikeDetector(window=4, zscore=3.0)
    assert [d.update(x) for x in (2.0, 2.1, 1.9, 2.0)] == [None] * 4
    z = d.update(2.05)  # window 2.0, 2.1, 1.9, 2.0: mean 2.0, std √0.005
    assert z == pytest.approx(0.05 / math.sqrt(0.005)) and not d.is_spike(z)
    z = d.update(3.0)
    assert d.is_spike(z) and z > 10
    assert not d.is_spike(d.update(1.0))  # a drop is not a spike


def test_spike_detector_resumes_from_history_and_can_be_disabled():
    fresh, resumed = SpikeDetector(3, 2.0), SpikeDetector(3, 2.0, history=[9.0, 1.0, 1.1, 0.9])
    for x in (1.0, 1.1, 0.9):
        fresh.update(x)
    assert fresh.update(1.5) == resumed.update(1.5)  # only the last `window` losses matter
    off = SpikeDetector(0, 2.0)
    assert all(off.update(x) is None for x in (1.0, 100.0, 1e6))
    flat = SpikeDetector(2, 2.0, history=[1.0, 1.0])
    assert flat.update(1.0) == 0.0 and flat.update(2.0) == math.inf
