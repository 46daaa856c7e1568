"""Cost accounting: per-stage CPU seconds summed from *.cost.json and projected per record."""
from __future__ import annotations

import json

import pytest

from lmsci.report import cost


@pytest.fixture
def results(tmp_path):
    def put(rel, **d):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps(d))
    put("extract/crawl/s0.cost.json", stage="extract", cpu_s=1.0, seen=100)
    put("extract/crawl/s1.cost.json", stage="extract", cpu_s=3.0, seen=300)
    put("tag/crawl/s0.cost.json", stage="tag", cpu_s=2.0, seen=90)
    put("dedup/crawl/cost.json", stage="dedup_exact", cpu_s=0.4, seen=50)
    put("extract/wiki/w0.cost.json", stage="extract", cpu_s=99.0, seen=5)  # another source: not counted
    return tmp_path


def test_sums_cpu_per_stage_over_shards_of_one_source(results):
    m = cost.measured(results, "crawl")
    assert m == {"records": 400, "cpu_s": {"extract": 4.0, "tag": 2.0, "dedup_exact": 0.4}}
    assert list(m["cpu_s"]) == ["extract", "tag", "dedup_exact"]  # pipeline order


def test_projects_linearly_in_records(results):
    p = cost.projection(results, "crawl", snapshot_records=400 * 3600)
    # 6.4 CPU s for 400 records → 6.4 CPU-hours for 3600× as many
    assert p["snapshot_cpu_hours"] == 6
    assert p["ms_per_record"] == pytest.approx(16.0)
    assert {s["stage"]: s["snapshot_cpu_hours"] for s in p["stages"]} == {"dedup_exact": 0, "extract": 4, "tag": 2}


def test_no_measurement_gives_no_projection(tmp_path):
    assert cost.projection(tmp_path, "crawl") is None
