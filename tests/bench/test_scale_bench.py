"""`make bench-scale`'s pieces on tiny inputs (no Snakemake run; `make bench-scale` does that):
the crawl builder on the real pages of data/sample's WARCs, and the summary over benchmark files
written by Snakemake's own writer."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from lmsci import config as C
from lmsci.crawl.extract import extract_shard
from lmsci.ledger import Ledger

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import bench_scale  # noqa: E402
import build_scale_crawl as crawl  # noqa: E402

POOL = sorted((REPO / "data" / "sample" / "crawl").glob("*.warc.gz"))
CFG = C.load(REPO / "config.yaml", root=REPO)


def records(path: Path) -> list[tuple[str, bytes]]:
    with open(path, "rb") as f:
        return [(r.headers["WARC-Target-URI"], r.reader.read())
                for r in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True)]


@pytest.fixture(scope="module")
def pages():
    return crawl.pool(crawl.pages_from_warcs(POOL))


@pytest.fixture(scope="module")
def built(pages, tmp_path_factory):
    out = tmp_path_factory.mktemp("scale-crawl")
    return out, crawl.build(pages, 2, 20, out, dup_share=0.4)


def test_sizes_shards_and_duplicate_share(built, pages):
    out, m = built
    assert [f["documents"] for f in m["files"]] == [20, 20]
    assert [len(records(Path(f["path"]))) for f in m["files"]] == [20, 20]
    assert m["exact_copies"] + m["near_copies"] == 16 and 0.3 <= m["dup_share"] <= 0.5
    assert json.loads((out / "manifest.json").read_text()) == m


def test_copies_are_real_text_exact_and_near(built, pages):
    out, m = built
    by_url = dict(pages)
    docs = [d for f in m["files"] for d in records(Path(f["path"]))]
    exact = [(u, raw) for u, raw in docs if "?copy=" in u]
    near = [(u, raw) for u, raw in docs if "?v=" in u]
    assert len(exact) == m["exact_copies"] and len(near) == m["near_copies"]
    originals = {raw for raw in by_url.values()}
    assert all(raw in originals for _, raw in exact)  # the same bytes under a mirror URL
    for u, raw in near:
        orig = by_url[u.split("?v=")[0]]
        assert raw != orig
        a, b = set(orig.split()), set(raw.split())
        assert len(a & b) / len(a | b) > 0.5, u  # mostly the same page


def test_every_record_extracts(built):
    _, m = built
    docs, led = (lambda r: (r[0], r[-1]))(extract_shard("crawl", Path(m["files"][0]["path"]), CFG.extract))
    assert led.seen == 20 and docs.height > 0 and all(len(t) > 0 for t in docs["text"])


def test_build_is_deterministic(built, pages, tmp_path):
    out, m = built
    again = crawl.build(pages, 2, 20, tmp_path, dup_share=0.4)
    for a, b in zip(m["files"], again["files"]):
        assert Path(a["path"]).read_bytes() == Path(b["path"]).read_bytes()


def test_too_few_pages_names_the_flag(pages, tmp_path):
    with pytest.raises(SystemExit, match="--docs-per-shard"):
        crawl.build(pages, 4, len(pages), tmp_path)


def _results(root: Path, docs_per_shard: int, shards: int, rss: float, cpu_per_doc: float) -> Path:
    """A results/ tree as a run leaves it: extract ledgers + Snakemake-written benchmark TSVs."""
    from snakemake.benchmark import BenchmarkRecord, write_benchmark_records

    def bench(rule: str, wildcards: str, cpu: float, rss_mb: float) -> None:
        path = root / "benchmarks" / rule / f"{wildcards}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = BenchmarkRecord(running_time=cpu * 1.1, max_rss=rss_mb, max_vms=rss_mb * 2, max_uss=rss_mb,
                              max_pss=rss_mb, io_in=0.0, io_out=0.0, cpu_usage=cpu, cpu_time=cpu)
        rec.data_collected, rec.first_time, rec.prev_time = True, 0.0, 1.0
        write_benchmark_records([rec], str(path), False)

    for s in range(shards):
        led = Ledger("extract", "crawl", f"s{s}")
        for _ in range(docs_per_shard):
            led.keep(10)
        led.write(root / "extract" / "crawl" / f"s{s}.stats.json")
        bench("extract", f"crawl/s{s}", cpu_per_doc * docs_per_shard, rss)
    bench("train_tokenizer", "", 3.0, 100.0)
    return root


def test_summary_and_checks_from_benchmark_files(tmp_path):
    small = bench_scale.summarise(_results(tmp_path / "a", 10, 2, rss=100.0, cpu_per_doc=0.01))
    large = bench_scale.summarise(_results(tmp_path / "b", 10, 8, rss=180.0, cpu_per_doc=0.011))
    assert small["documents"] == 20 and large["documents"] == 80
    ex = large["stages"]["extract"]
    assert ex["jobs"] == 8 and ex["cpu_s_per_doc"] == pytest.approx(0.011, rel=0.05)
    assert ex["docs_per_s_per_core"] == pytest.approx(1 / ex["cpu_s_per_doc"])
    assert large["stages"]["train_tokenizer"]["fixed"]
    checks = bench_scale.checks([small, large])
    assert set(checks) == {"extract"}  # fixed-cost rules are not held to per-document limits
    assert checks["extract"]["rss_ok"] is False and checks["extract"]["peak_rss_ratio"] == pytest.approx(1.8, rel=0.02)
    assert checks["extract"]["cpu_ok"] is True
    report = {"sizes": [small, large]}
    bench_scale.plot(report, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").stat().st_size > 10_000
