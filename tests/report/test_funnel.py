"""lmsci/report/funnel.py: per-source funnel from the ledgers, and the stage handover check."""
from __future__ import annotations

import json

import pytest

from lmsci.ledger import Ledger, LedgerError
from lmsci.report import funnel
from lmsci.report.funnel import HandoverError


def _ledger(stage, source, shard, kept, drops=(), chars=10, **extra) -> Ledger:
    led = Ledger(stage, source, shard)
    for _ in range(kept):
        led.keep(chars)
    for reason in drops:
        led.drop(reason, chars)
    led.extra.update(extra)
    return led


def _tree(root, dedup_seen_crawl=None):
    """crawl: 2 shards, 10 + 6 records → 13 extracted → 13 tagged → 9 filtered → 9 redacted → 8 exact-deduped
    → 7 near-deduped → tokenized. wiki: one shard, 5 → 5 → 5 → 4 → 4 → 4 → 4."""
    w = lambda led, rel: led.write(root / rel)  # noqa: E731
    w(_ledger("extract", "crawl", "s0", 8, ["extract/http_status", "extract/not_html"]), "extract/crawl/s0.stats.json")
    w(_ledger("extract", "crawl", "s1", 5, ["extract/empty"]), "extract/crawl/s1.stats.json")
    w(_ledger("tag", "crawl", "s0", 8), "tag/crawl/s0.stats.json")
    w(_ledger("tag", "crawl", "s1", 5), "tag/crawl/s1.stats.json")
    w(_ledger("filter", "crawl", "s0", 6, ["langid/other_language"] * 2), "filter/crawl/s0.stats.json")
    w(_ledger("filter", "crawl", "s1", 3, ["gopher_quality/few_words"] * 2), "filter/crawl/s1.stats.json")
    w(_ledger("pii", "crawl", "s0", 6, pii_email=2), "pii/crawl/s0.stats.json")
    w(_ledger("pii", "crawl", "s1", 3, pii_email=1), "pii/crawl/s1.stats.json")
    n = 9 if dedup_seen_crawl is None else dedup_seen_crawl
    w(_ledger("dedup_exact", "crawl", "all", n - 1, ["dedup_exact/duplicate"]), "dedup/crawl/stats.json")
    w(_ledger("dedup_minhash", "crawl", "all", n - 2, ["dedup_minhash/near_duplicate"]), "minhash/crawl/stats.json")
    w(_ledger("tokenize", "crawl", "all", n - 2, train_tokens=700, valid_tokens=30, train_documents=6,
              valid_documents=1), "tokens/crawl/stats.json")
    w(_ledger("extract", "wiki", "w0", 5), "extract/wiki/w0.stats.json")
    w(_ledger("tag", "wiki", "w0", 5), "tag/wiki/w0.stats.json")
    w(_ledger("filter", "wiki", "w0", 4, ["langid/low_score"]), "filter/wiki/w0.stats.json")
    w(_ledger("pii", "wiki", "w0", 4), "pii/wiki/w0.stats.json")
    w(_ledger("dedup_exact", "wiki", "all", 4), "dedup/wiki/stats.json")
    w(_ledger("dedup_minhash", "wiki", "all", 4), "minhash/wiki/stats.json")
    w(_ledger("tokenize", "wiki", "all", 4, train_tokens=300, valid_tokens=9), "tokens/wiki/stats.json")


def test_collect_sums_shards_per_source(tmp_path):
    _tree(tmp_path)
    f = funnel.collect(tmp_path)
    assert list(f) == ["extract", "tag", "filter", "pii", "dedup_exact", "dedup_minhash", "tokenize"]
    ex = f["extract"]["crawl"]
    assert (ex["seen"], ex["kept"]) == (16, 13)
    assert dict(ex["dropped"]) == {"extract/http_status": 1, "extract/not_html": 1, "extract/empty": 1}
    assert ex["chars_in"] == 16 * 10 and ex["chars_out"] == 13 * 10
    assert dict(f["filter"]["crawl"]["dropped"]) == {"langid/other_language": 2, "gopher_quality/few_words": 2}
    assert f["tokenize"]["crawl"]["extra"]["train_tokens"] == 700
    assert f["pii"]["crawl"]["extra"]["pii_email"] == 3  # summed over the shards
    assert (f["dedup_exact"]["wiki"]["seen"], f["dedup_exact"]["wiki"]["kept"]) == (4, 4)
    funnel.check_handover(f)


def test_rows(tmp_path):
    _tree(tmp_path)
    rows = funnel.rows(funnel.collect(tmp_path))
    stages = ["extract", "tag", "filter", "pii", "dedup_exact", "dedup_minhash", "tokenize"]
    assert [(r["source"], r["stage"]) for r in rows] == [(s, st) for s in ("crawl", "wiki") for st in stages]
    crawl = [r["kept"] for r in rows if r["source"] == "crawl"]
    assert crawl == [13, 13, 9, 9, 8, 7, 7]  # a funnel never widens
    assert list(rows[2]["dropped"]) == sorted(rows[2]["dropped"])


def test_broken_handover_names_source_and_stages(tmp_path):
    _tree(tmp_path, dedup_seen_crawl=8)  # pii kept 9, dedup saw 8: a document went missing
    with pytest.raises(HandoverError) as e:
        funnel.check_handover(funnel.collect(tmp_path))
    msg = str(e.value)
    assert "crawl" in msg and "pii" in msg and "dedup_exact" in msg and "9" in msg and "8" in msg


def test_missing_previous_stage_is_a_broken_handover(tmp_path):
    _tree(tmp_path)
    (tmp_path / "tag" / "wiki" / "w0.stats.json").unlink()
    with pytest.raises(HandoverError, match="wiki.*tag.*filter"):
        funnel.check_handover(funnel.collect(tmp_path))


def test_a_shard_ledger_that_does_not_add_up_fails_collect(tmp_path):
    _tree(tmp_path)
    path = tmp_path / "filter" / "crawl" / "s1.stats.json"
    d = json.loads(path.read_text())
    d["seen"] += 1
    path.write_text(json.dumps(d))
    with pytest.raises(LedgerError, match="s1.stats.json"):
        funnel.collect(tmp_path)


def test_a_new_stage_is_found_from_its_ledger_and_ordered(tmp_path):
    """A stage the workflow adds later (here a quality model between filter and pii) appears in the
    funnel and the handover check without a code change; an unknown one is listed last, unchecked."""
    _tree(tmp_path)
    w = lambda led, rel: led.write(tmp_path / rel)  # noqa: E731
    w(_ledger("quality", "wiki", "w0", 4), "quality/wiki/w0.stats.json")
    w(_ledger("quality", "crawl", "s0", 6), "quality/crawl/s0.stats.json")
    w(_ledger("quality", "crawl", "s1", 3), "quality/crawl/s1.stats.json")
    w(_ledger("zz_custom", "wiki", "all", 1, ["zz_custom/odd"] * 2), "custom/wiki/stats.json")
    f = funnel.collect(tmp_path)
    assert list(f) == ["extract", "tag", "filter", "quality", "pii", "dedup_exact", "dedup_minhash", "tokenize",
                       "zz_custom"]
    funnel.check_handover(f)
    w(_ledger("quality", "wiki", "w0", 3, ["quality/low_score"]), "quality/wiki/w0.stats.json")
    with pytest.raises(HandoverError, match="wiki: quality kept 3 but pii saw 4"):
        funnel.check_handover(funnel.collect(tmp_path))


def test_tokens_run_backwards_from_the_tokenize_ledger(tmp_path):
    _tree(tmp_path)
    dropped = {("crawl", "filter", "langid/other_language"): {"documents": 2, "tokens": 50},
               ("crawl", "filter", "gopher_quality/few_words"): {"documents": 2, "tokens": 7},
               ("crawl", "dedup_exact", "dedup_exact/duplicate"): {"documents": 1, "tokens": 11},
               ("crawl", "dedup_minhash", "dedup_minhash/near_duplicate"): {"documents": 1, "tokens": 13}}
    rows = {r["stage"]: r for r in funnel.rows(funnel.collect(tmp_path), dropped) if r["source"] == "crawl"}
    kept = 700 + 30 - 6 - 1  # tokens written, less one EOD per document
    assert (rows["tokenize"]["tokens_in"], rows["tokenize"]["tokens_out"]) == (kept, kept)
    assert (rows["dedup_minhash"]["tokens_in"], rows["dedup_minhash"]["tokens_out"]) == (kept + 13, kept)
    assert (rows["dedup_exact"]["tokens_in"], rows["dedup_exact"]["tokens_out"]) == (kept + 24, kept + 13)
    assert rows["pii"]["tokens_in"] == rows["pii"]["tokens_out"] == kept + 24
    assert (rows["filter"]["tokens_in"], rows["filter"]["tokens_out"]) == (kept + 81, kept + 24)
    assert rows["filter"]["dropped"]["langid/other_language"] == {"documents": 2, "chars": 20, "tokens": 50}
    # extraction drops have no stored text: their tokens, and everything into extract, are unknown
    assert rows["extract"]["dropped"]["extract/empty"]["tokens"] is None
    assert (rows["extract"]["tokens_in"], rows["extract"]["tokens_out"]) == (None, kept + 81)


def test_partly_stored_drops_leave_tokens_unknown(tmp_path):
    _tree(tmp_path)
    dropped = {("crawl", "dedup_minhash", "dedup_minhash/near_duplicate"): {"documents": 1, "tokens": 13},
               ("crawl", "dedup_exact", "dedup_exact/duplicate"): {"documents": 0, "tokens": 0}}
    rows = {r["stage"]: r for r in funnel.rows(funnel.collect(tmp_path), dropped) if r["source"] == "crawl"}
    assert rows["dedup_minhash"]["tokens_in"] == 723 + 13
    assert rows["dedup_exact"]["dropped"]["dedup_exact/duplicate"]["tokens"] is None
    assert rows["dedup_exact"]["tokens_in"] is None and rows["dedup_exact"]["tokens_out"] == 723 + 13
