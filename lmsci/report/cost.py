"""What curation cost, measured per shard, and what that projects to for a Common Crawl snapshot.

Every per-shard job writes ``*.cost.json`` (CPU and wall seconds) beside its ledger. The projection
is linear in records: per-shard stages are, and the cross-shard ones (dedup clustering) are a small
share here — the report says so rather than pretending to more precision.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lmsci.io import read_json
from lmsci.report.funnel import STAGES

# Assumed snapshot size: Common Crawl's monthly crawls of 2023–2024 hold roughly 2.5–3.5 billion
# pages (CC-MAIN release notes); 3.0 billion response records is the figure projected.
CC_SNAPSHOT_RECORDS = 3_000_000_000


def measured(results: Path, source: str) -> dict:
    """CPU seconds per stage for ``source`` and the number of input records they processed."""
    cpu: dict[str, float] = defaultdict(float)
    records = 0
    for path in sorted(Path(results).glob(f"*/{source}/*cost.json")):
        d = read_json(path)
        cpu[d["stage"]] += d["cpu_s"]
        if d["stage"] == "extract":
            records += d["seen"]
    order = {st: i for i, st in enumerate(STAGES)}
    return {"records": records, "cpu_s": dict(sorted(cpu.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))}


def projection(results: Path, source: str = "crawl", snapshot_records: int = CC_SNAPSHOT_RECORDS) -> dict | None:
    m = measured(results, source)
    if not m["records"]:
        return None
    per_record = {stage: s / m["records"] for stage, s in m["cpu_s"].items()}
    total = sum(per_record.values())
    return {"source": source, "records": m["records"], "snapshot_records": snapshot_records,
            "stages": [{"stage": st, "cpu_s": round(m["cpu_s"][st], 3), "ms_per_record": round(1e3 * v, 3),
                        "snapshot_cpu_hours": round(v * snapshot_records / 3600)} for st, v in per_record.items()],
            "ms_per_record": round(1e3 * total, 3), "snapshot_cpu_hours": round(total * snapshot_records / 3600)}
