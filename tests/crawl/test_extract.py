"""lmsci/crawl/extract.py: WARC records → main-content text, one named outcome per record.

The WARC files are written here with warcio (https target URIs, so the HTTP headers are parsed).
"""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import polars as pl
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from lmsci.config import ExtractConfig
from lmsci.crawl import extract
from lmsci.crawl.documents import doc_id

MAX_BYTES = 4000
CFG = ExtractConfig(max_bytes=MAX_BYTES)
BODY = ("Salt marshes are coastal wetlands that are flooded and drained by salt water brought in by "
        "the tides. They are marshy because the soil may be composed of deep mud and peat. ")
NAV = ["Homepage Zebralink", "Contact Zebralink", "Sitemap Zebralink", "Careers Zebralink"]
BOILERPLATE_HTML = (
    "<html><head><title>Salt marshes</title></head><body>"
    "<nav><ul>" + "".join(f'<li><a href="/{i}">{t}</a></li>' for i, t in enumerate(NAV)) + "</ul></nav>"
    f"<main><article><h1>Salt marshes</h1><p>{BODY * 3}</p><p>{BODY * 2}</p></article></main>"
    "<footer><p>Copyright Footerco 2024. All rights reserved.</p></footer></body></html>"
)
GERMAN = "Grüße aus München: schöne Größe, weiße Häuser."
CP1252 = "“Smart quotes” and a café — naïve résumé."
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

# name → (content type header, HTTP status, body bytes, expected outcome: None = kept, else reason)
CASES = {
    "main": ("text/html; charset=utf-8", "200 OK", BOILERPLATE_HTML.encode("utf-8"), None),
    "latin1": ("text/html; charset=ISO-8859-1", "200 OK",
               f"<html><body><p>{GERMAN}</p></body></html>".encode("iso-8859-1"), None),
    "cp1252": ("text/html", "200 OK",
               f'<html><head><meta charset="windows-1252"></head><body><p>{CP1252}</p></body></html>'
               .encode("cp1252"), None),
    "missing": ("text/html; charset=utf-8", "404 Not Found", b"<html><body><p>Not found</p></body></html>",
                "extract/http_status"),
    "image": ("image/png", "200 OK", PNG, "extract/not_html"),
    "large": ("text/html; charset=utf-8", "200 OK",
              f"<html><body><p>{BODY * (MAX_BYTES // len(BODY) + 2)}</p></body></html>".encode(), "extract/too_large"),
    "blank": ("text/html; charset=utf-8", "200 OK", b"", "extract/empty"),
}


def _response(w: WARCWriter, name: str) -> None:
    ctype, status, body, _ = CASES[name]
    hh = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record(f"https://example.org/{name}", "response",
                                        payload=io.BytesIO(body), http_headers=hh))


def _request(w: WARCWriter, name: str) -> None:
    hh = StatusAndHeaders(f"GET /{name} HTTP/1.1", [("Host", "example.org")], is_http_request=True)
    w.write_record(w.create_warc_record(f"https://example.org/{name}", "request", http_headers=hh))


def write_warc(path: Path, names, gz: bool = True, extras: bool = True) -> Path:
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=gz)
        if extras:
            w.write_record(w.create_warcinfo_record(path.name, {"software": "lmsci tests"}))
        for name in names:
            if extras and name == "main":
                _request(w, name)
            _response(w, name)
    return path


@pytest.mark.parametrize("name", CASES)
def test_one_outcome_per_record(tmp_path, name):
    df, _, led = extract.extract_shard("crawl", write_warc(tmp_path / "s.warc.gz", [name], extras=False), CFG)
    expected = CASES[name][3]
    if expected is None:
        assert (led.seen, led.kept, dict(led.dropped)) == (1, 1, {})
        assert df.height == 1 and df["url"][0] == f"https://example.org/{name}"
    else:
        assert (led.seen, led.kept, dict(led.dropped)) == (1, 0, {expected: 1})
        assert df.height == 0
        assert led.chars_dropped[expected] == min(len(CASES[name][2]), MAX_BYTES + 1)


def _texts(tmp_path):
    df, _, _ = extract.extract_shard("crawl", write_warc(tmp_path / "s.warc.gz", CASES), CFG)
    return {u.rsplit("/", 1)[1]: t for u, t in zip(df["url"], df["text"])}


def test_main_content_keeps_article_and_drops_boilerplate(tmp_path):
    text = _texts(tmp_path)["main"]
    assert "Salt marshes are coastal wetlands" in text
    assert text.count("the tides") == 5
    # resiliparse main_content removes the <nav> menu and the <footer>.
    assert "Zebralink" not in text
    assert "Footerco" not in text


def test_main_content_off_keeps_boilerplate(tmp_path):
    path = write_warc(tmp_path / "s.warc.gz", ["main"])
    df, _, _ = extract.extract_shard("crawl", path, ExtractConfig(main_content=False, max_bytes=MAX_BYTES))
    assert all(n in df["text"][0] for n in NAV) and "Footerco" in df["text"][0]


def test_charsets_from_http_header_and_html_meta(tmp_path):
    texts = _texts(tmp_path)
    assert texts["latin1"].strip() == GERMAN  # ISO-8859-1 declared only in the HTTP header
    assert texts["cp1252"].strip() == CP1252  # windows-1252 declared only in <meta charset>


def test_charset_prefers_header_and_falls_back_on_unknown_label():
    raw = '<meta charset="windows-1252"><p>x</p>'.encode()
    assert extract.charset("ISO-8859-1", raw) == "iso8859-1"
    assert extract.charset("no-such-charset", raw) in ("cp1252", "windows-1252")
    assert extract.charset(None, raw) in ("cp1252", "windows-1252")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_shard_ledger_and_lineage(tmp_path, gz):
    path = write_warc(tmp_path / ("shard-00042.warc.gz" if gz else "shard-00042.warc"), CASES, gz=gz)
    df, _, led = extract.extract_shard("crawl", path, CFG)

    expected_drops = {r: 1 for *_, r in CASES.values() if r is not None}
    assert dict(led.dropped) == expected_drops
    assert led.kept == df.height == sum(r is None for *_, r in CASES.values())
    assert led.seen == led.kept + sum(led.dropped.values()) == len(CASES)
    assert dict(led.skipped) == {"warcinfo": 1, "request": 1}
    assert led.bytes_in == path.stat().st_size
    assert led.chars_out == sum(map(len, df["text"]))

    # Each id is (source, shard, offset) and the offset is where that very record starts in the file.
    assert df["id"].to_list() == sorted(df["id"].to_list())
    with open(path, "rb") as f:
        for row in df.iter_rows(named=True):
            assert row["id"] == f"crawl/shard-00042/{row['offset']:012d}" == doc_id("crawl", "shard-00042", row["offset"])
            f.seek(row["offset"])
            rec = next(iter(ArchiveIterator(f, record_types=WarcRecordType.response)))
            assert rec.record_id == row["record_id"]
            assert rec.headers["WARC-Target-URI"] == row["url"]


def test_extraction_is_deterministic(tmp_path):
    path = write_warc(tmp_path / "s.warc.gz", CASES)
    a, _, la = extract.extract_shard("crawl", path, CFG)
    b, _, lb = extract.extract_shard("crawl", path, CFG)
    assert a.equals(b) and la.to_dict() == lb.to_dict()


def test_garbage_file_is_a_corrupt_shard(tmp_path):
    path = tmp_path / "bad-00001.warc"
    path.write_bytes(b"this is not a WARC file\n" * 40)
    with pytest.raises(extract.CorruptShard) as e:
        extract.extract_shard("crawl", path, CFG)
    msg = str(e.value)
    assert str(path) in msg and "offset 0" in msg and "\n" not in msg


def test_garbage_after_good_records_is_counted_or_fails_naming_its_offset(tmp_path):
    path = write_warc(tmp_path / "s.warc", ["latin1", "cp1252"], gz=False, extras=False)
    good = path.read_bytes()
    path.write_bytes(good + b"GARBAGE, NOT A WARC HEADER\r\n" * 10)
    kept, dropped, led = extract.extract_shard("crawl", path, CFG)
    assert kept.height == 2 and dict(led.dropped) == {"error/not_warc": 1}
    assert dropped["offset"].to_list() == [len(good)] and dropped["file"].to_list() == [str(path)]
    with pytest.raises(extract.CorruptShard) as e:
        extract.extract_shard("crawl", path, dataclasses.replace(CFG, on_corrupt="fail"))
    assert str(path) in str(e.value) and f"offset {len(good)}" in str(e.value) and "\n" not in str(e.value)


def test_dropped_rows_name_reason_record_and_offset(tmp_path):
    """The stage contract: every response record is a kept row or a dropped row, the ledger agrees."""
    from lmsci import stage
    path = write_warc(tmp_path / "shard-00007.warc.gz", CASES)
    kept, dropped, led = extract.extract_shard("crawl", path, CFG)
    stage.check(led, kept, dropped)
    assert sorted(dropped["reason"]) == sorted(r for *_, r in CASES.values() if r is not None)
    assert set(dropped.columns) >= {"id", "url", "reason", "text", "record_id", "offset", "file"}
    with open(path, "rb") as f:
        starts = {r.stream_pos: r.record_id for r in ArchiveIterator(f, record_types=WarcRecordType.response)}
    assert dict(zip(kept["offset"], kept["record_id"])) | dict(zip(dropped["offset"], dropped["record_id"])) == starts
    assert dropped.filter(pl.col("reason") == "extract/not_html")["text"].to_list() == [None]


def test_stage_run_writes_kept_dropped_and_stats(tmp_path):
    import functools
    from lmsci import stage
    path = write_warc(tmp_path / "shard-00001.warc.gz", CASES)
    out = tmp_path / "o"
    led = stage.run(functools.partial(extract.extract_shard, "crawl", cfg=CFG), path, out=out / "k.parquet",
                    stats=out / "k.stats.json", dropped=out / "k.dropped.parquet")
    assert pl.read_parquet(out / "k.parquet").height == led.kept
    assert pl.read_parquet(out / "k.dropped.parquet").height == sum(led.dropped.values()) > 0


def _slow_warc(path: Path) -> Path:
    """A quick page, a 3 MB page of 300,000 <span> elements (~1 s for resiliparse), a quick page."""
    slow = ("<html><body>" + "<span>a</span>" * 300_000 + "</body></html>").encode()
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for name, body in (("before", CASES["latin1"][2]), ("slow", slow), ("after", CASES["cp1252"][2])):
            hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=ISO-8859-1" if name == "before"
                                              else "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://example.org/{name}", "response",
                                                payload=io.BytesIO(body), http_headers=hh))
    return path


def test_page_over_the_time_limit_is_dropped_and_the_next_one_extracted(tmp_path):
    path = _slow_warc(tmp_path / "s.warc.gz")
    df, dropped, led = extract.extract_shard("crawl", path, ExtractConfig(timeout_s=0.05))
    assert (led.seen, led.kept, dict(led.dropped)) == (3, 2, {"extract/timeout": 1})
    assert dropped["url"].to_list() == ["https://example.org/slow"]
    assert df["url"].to_list() == ["https://example.org/before", "https://example.org/after"]
    assert df["text"][1].strip() == CP1252  # the worker killed at the slow page was replaced


def test_no_limit_extracts_in_process_with_the_same_result(tmp_path):
    path = write_warc(tmp_path / "s.warc.gz", CASES)
    a, _, la = extract.extract_shard("crawl", path, CFG)
    b, _, lb = extract.extract_shard("crawl", path, dataclasses.replace(CFG, timeout_s=0))
    assert a.equals(b) and la.to_dict() == lb.to_dict()


def test_trafilatura_extracts_the_article_without_boilerplate(tmp_path):
    path = write_warc(tmp_path / "s.warc.gz", ["main", "latin1"])
    df, _, led = extract.extract_shard("crawl", path, dataclasses.replace(CFG, extractor="trafilatura"))
    assert (led.seen, led.kept) == (2, 2)
    text = df["text"][0]
    assert text.count("the tides") == 5 and "Zebralink" not in text and "Footerco" not in text
    assert df["text"][1].strip() == GERMAN


@pytest.mark.parametrize("key, value", [("timeout_s", -1), ("extractor", "boilerpipe")])
def test_bad_extract_settings_are_one_line_config_errors(base_dict, key, value):
    from lmsci.config import ConfigError, from_dict
    base_dict["extract"][key] = value
    with pytest.raises(ConfigError) as e:
        from_dict(base_dict)
    assert f"'extract.{key}'" in str(e.value) and "\n" not in str(e.value)
