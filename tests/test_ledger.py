"""lmsci/ledger.py: seen = kept + Σ dropped, named reasons, deterministic stats (cost: Snakemake benchmark files)."""
from __future__ import annotations

import json

import pytest

from lmsci import ledger
from lmsci.ledger import Ledger, LedgerError


def _filled() -> Ledger:
    led = Ledger("filter", "crawl", "shard-00000")
    led.keep(100)
    led.keep(50, 40)
    led.drop("gopher_quality/few_words", 30)
    led.drop("langid/other_language", 20)
    led.drop("gopher_quality/few_words", 5)
    led.skip("warcinfo")
    return led


def test_counts_add_up():
    led = _filled()
    assert (led.seen, led.kept) == (5, 2)
    assert led.dropped == {"gopher_quality/few_words": 2, "langid/other_language": 1}
    assert led.chars_in == 100 + 50 + 30 + 20 + 5
    assert led.chars_out == 100 + 40
    assert led.chars_dropped == {"gopher_quality/few_words": 35, "langid/other_language": 20}
    assert led.skipped == {"warcinfo": 1}  # skipped records are not documents: not in seen
    led.check()


@pytest.mark.parametrize("reason", ["", None])
def test_drop_needs_a_reason(reason):
    led = Ledger("filter", "crawl", "s")
    with pytest.raises(LedgerError, match="reason"):
        led.drop(reason)
    assert led.seen == 0


@pytest.mark.parametrize("tamper", [
    lambda led: setattr(led, "seen", led.seen + 1),
    lambda led: setattr(led, "kept", led.kept + 1),
    lambda led: led.dropped.update({"x": 1}),
])
def test_check_catches_inconsistent_ledger(tamper, tmp_path):
    led = _filled()
    tamper(led)
    with pytest.raises(LedgerError, match="crawl"):
        led.check()
    with pytest.raises(LedgerError):
        led.write(tmp_path / "x.stats.json")
    assert not (tmp_path / "x.stats.json").exists()


def test_write_stats_without_timing_or_cost(tmp_path):
    led = _filled()
    led.bytes_in = 1234
    led.write(tmp_path / "shard-00000.stats.json")
    stats = json.loads((tmp_path / "shard-00000.stats.json").read_text())
    assert stats["seen"] == stats["kept"] + sum(stats["dropped"].values()) == 5
    assert not {"wall_s", "cpu_s", "max_rss_mb"} & set(stats)
    assert not any(k.startswith("_") for k in stats)
    assert stats["bytes_in"] == 1234 and sorted(p.name for p in tmp_path.iterdir()) == ["shard-00000.stats.json"]


def test_stats_are_byte_identical_across_reruns(tmp_path):
    import time

    _filled().write(tmp_path / "a" / "stats.json")
    time.sleep(0.01)
    led = Ledger("filter", "crawl", "shard-00000")  # same events, another order
    led.skip("warcinfo")
    led.drop("langid/other_language", 20)
    led.drop("gopher_quality/few_words", 5)
    led.keep(50, 40)
    led.drop("gopher_quality/few_words", 30)
    led.keep(100)
    led.write(tmp_path / "b" / "stats.json")
    assert (tmp_path / "a" / "stats.json").read_bytes() == (tmp_path / "b" / "stats.json").read_bytes()


def test_load_round_trip_and_rejects_a_ledger_that_does_not_add_up(tmp_path):
    path = tmp_path / "stats.json"
    _filled().write(path)
    d = ledger.load(path)
    assert d["seen"] == 5 and d["dropped"]["gopher_quality/few_words"] == 2
    d["kept"] += 1
    path.write_text(json.dumps(d))
    with pytest.raises(LedgerError, match="stats.json"):
        ledger.load(path)
