"""Benchmarks that cannot rot: `make test` runs every benchmark body once on a tiny input.

Tiny mode (``LMSCI_BENCH_TINY=1``) is on unless pytest runs with ``--benchmark-enable`` or
``--benchmark-only`` (what `make bench` passes): then pytest-benchmark's fixture is switched from
"skip" (pyproject's ``--benchmark-skip``) to "disabled", which calls each benchmarked function once
and times nothing, and the modules below shrink their inputs (one WARC shard cut to a few records,
a few training steps). No figure is asserted in either mode; the bodies, their identity checks
(same token ids, ledgers that add up) and the report writers run. Reports written in tiny mode go
to a temporary folder, never over reports/bench/.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS: dict[str, dict[str, float]] = {}
TINY_RECORDS = 12  # WARC records of the one tiny-mode shard


def tiny() -> bool:
    return os.environ.get("LMSCI_BENCH_TINY") == "1"


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's, which makes the session
def pytest_configure(config):
    timed = config.getoption("benchmark_enable", False) or config.getoption("benchmark_only", False)
    if not timed:
        os.environ["LMSCI_BENCH_TINY"] = "1"
    session = getattr(config, "_benchmarksession", None)
    if tiny() and session is not None:
        session.skip, session.disabled = False, True


def report_path(name: str) -> Path:
    """reports/bench/<name>, or the system temp dir in tiny mode (a tiny run must not overwrite real figures)."""
    if tiny():
        return Path(tempfile.gettempdir()) / "lmsci-bench-tiny" / name
    return REPO / "reports" / "bench" / name


def pytest_terminal_summary(terminalreporter):
    if {"plain", "lmsci"} <= RESULTS.keys():
        for k in ("median", "best"):
            lm, plain = RESULTS["lmsci"][k], RESULTS["plain"][k]
            terminalreporter.write_line(f"train step tokens/s ({k} step): lmsci {lm:,.0f}, plain PyTorch {plain:,.0f}, "
                                        f"ratio {lm / plain:.3f} (goal >= 0.9)")


def truncated_warc(src: Path, dest: Path, responses: int = TINY_RECORDS) -> Path:
    """The first ``responses`` response records of ``src`` (and the records between them), cut at a gzip
    member boundary: a real shard, only shorter."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    seen, cut = 0, None
    with open(src, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.any_type, parse_http=False):
            if seen >= responses:
                cut = rec.stream_pos
                break
            seen += rec.record_type == WarcRecordType.response
    data = Path(src).read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data if cut is None else data[:cut])
    return dest
