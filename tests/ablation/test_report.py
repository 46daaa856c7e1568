"""The report's tables from finished runs' files: lm-eval with the spread over seeds and Δ to the baseline,
cost per variant from the benchmark files, and both renderings escaping what they print."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmsci import config as C
from lmsci.ablation import render, report


@pytest.fixture
def cfg(base_dict, tmp_path) -> C.Config:
    return C.from_dict({**base_dict, "results": str(tmp_path / "results"), "ablation": {
        "seeds": [1, 2], "variants": {"strict": {"gopher_quality": {"min_doc_words": 100}}}}})


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_lm_eval_table_spreads_over_seeds_and_differences_the_means(cfg):
    acc = {("baseline", 1): 0.30, ("baseline", 2): 0.40, ("strict", 1): 0.50, ("strict", 2): 0.60}
    for (n, s), a in acc.items():
        _put(Path(cfg.results) / f"ablation/{n}/{s}/lm_eval.json",
             json.dumps({"lmsci_cloze": {"acc": a, "items": 20, "perplexity": float("nan")}}))
    rows = {r["variant"]: r for r in report.lm_eval_table(cfg)}
    assert set(rows) == {"baseline", "strict"}  # items and non-finite values are not scores
    assert rows["strict"]["mean"] == pytest.approx(0.55) and (rows["strict"]["min"], rows["strict"]["max"]) == (0.5, 0.6)
    assert rows["strict"]["delta"] == pytest.approx(0.20) and rows["baseline"]["delta"] is None


def test_cost_is_summed_per_variant_and_shared_jobs_apart(cfg):
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    b = Path(cfg.results) / "ablation/benchmarks"
    _put(b / "ablation_train/strict/1.tsv", head + "10\t0:00:10\t100\t1\t1\t1\t0\t0\t1\t18\n")
    _put(b / "ablation_train/strict/2.tsv", head + "12\t0:00:12\t300\t1\t1\t1\t0\t0\t1\t20\n")
    _put(b / "ablation_evalset.tsv", head + "3\t0:00:03\t50\t1\t1\t1\t0\t0\t1\t2\n")
    _put(b / "ablation_train/gone/1.tsv", head + "9\t0:00:09\t50\t1\t1\t1\t0\t0\t1\t9\n")  # an earlier ablation's
    rows = {r["who"]: r for r in report.cost(cfg)}
    assert (rows["strict"]["jobs"], rows["strict"]["cpu_s"], rows["strict"]["max_rss_mb"]) == (2, 38.0, 300.0)
    assert [r["jobs"] for w, r in rows.items() if w.startswith("shared")] == [1] and "gone" not in rows


def test_markdown_and_html_escape_cells():
    secs = [("T", ["a <b> & c"], [[["h|1", "h2"], ["x|y", "<script>"]]])]
    md, html = render.markdown(secs), render.to_html(secs)
    assert "x\\|y" in md and "| h\\|1 | h2 |" in md
    assert "<script>" not in html and "&lt;script&gt;" in html and "a &lt;b&gt; &amp; c" in html
