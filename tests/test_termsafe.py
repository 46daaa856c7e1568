"""lmsci/termsafe.py: crawled text reaches a terminal with its control characters escaped."""
from __future__ import annotations

import polars as pl

from lmsci import cli
from lmsci.termsafe import clean

HOSTILE = "title\x1b]0;owned\x07 red\x1b[31m bell\x07 csi\x9b2J rtl\u202etxt.exe zw\u200bsp nul\x00"


def test_controls_are_escaped_and_plain_text_kept():
    out = clean(HOSTILE)
    assert out == ("title\\x1b]0;owned\\x07 red\\x1b[31m bell\\x07 csi\\x9b2J rtl\\u202etxt.exe zw\\u200bsp nul\\x00")
    assert clean("naïve café — 東京\n\tok") == "naïve café — 東京\n\tok"
    assert clean("a\nb\tc", keep_newlines=False) == "a\\nb\\tc"


def test_inspect_prints_no_raw_escape(tmp_path, capsys):
    (tmp_path / "filter/crawl").mkdir(parents=True)
    pl.DataFrame({"id": ["crawl/s/000000000001"], "url": ["https://x/\x1b[2J\nfake"],
                  "reason": ["c4/\x1b[8mhidden"], "text": [HOSTILE]}).write_parquet(
        tmp_path / "filter/crawl/s.dropped.parquet")
    assert cli.main(["inspect", "dropped", "--results", str(tmp_path)]) == 0
    assert cli.main(["inspect", "dropped", "--reason", "c4", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x9b\x00\u202e\u200b"), repr(out)
    assert "\\x1b[8mhidden" in out and "https://x/\\x1b[2J\\nfake" in out
