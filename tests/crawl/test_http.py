"""lmsci/crawl/http.py: encoded bodies decoded, undeclared charsets detected, control characters
removed — each through the extract stage on a WARC record as a crawler writes it (issue 10)."""
from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from lmsci.config import ExtractConfig
from lmsci.crawl import extract, http

CFG = ExtractConfig(timeout_s=0, max_bytes=100_000)
TEXT = "Salt marshes are coastal wetlands flooded and drained by the tides. " * 4
HTML = f"<html><body><p>{TEXT}</p></body></html>".encode()


def _chunked(data: bytes, size: int = 37) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size)]
    return b"".join(parts) + b"0\r\n\r\n"


ENCODED = {  # name -> (body on the wire, HTTP headers)
    "gzip": (gzip.compress(HTML, mtime=0), [("Content-Encoding", "gzip")]),
    "deflate": (zlib.compress(HTML), [("Content-Encoding", "deflate")]),
    "raw-deflate": (zlib.compress(HTML)[2:-4], [("Content-Encoding", "deflate")]),  # no zlib wrapper
    "x-gzip": (gzip.compress(HTML, mtime=0), [("Content-Encoding", "x-gzip")]),  # RFC 9110: the same as gzip
    "br": (brotli.compress(HTML), [("Content-Encoding", "br")]),
    "chunked": (_chunked(HTML), [("Transfer-Encoding", "chunked")]),
    "chunked-gzip": (_chunked(gzip.compress(HTML, mtime=0)), [("Transfer-Encoding", "chunked"),
                                                               ("Content-Encoding", "gzip")]),
    # Common Crawl: the body is stored decoded and the headers renamed; decoding again would break it.
    "common-crawl": (HTML, [("X-Crawler-Content-Encoding", "gzip"), ("X-Crawler-Transfer-Encoding", "chunked")]),
}


@pytest.mark.parametrize("name", ENCODED)
def test_encoded_bodies_extract_to_the_page_text(warc_of, name):
    body, headers = ENCODED[name]
    kept, dropped, led = extract.extract_shard("crawl", warc_of(name, [(name, body, headers, "text/html")]), CFG)
    assert dropped.height == 0 and kept["text"][0].strip() == TEXT.strip()


def test_a_body_that_does_not_decode_is_dropped_with_a_reason(warc_of):
    path = warc_of("bad", [("bad", b"\x1f\x8b\x08\x00 not gzip at all", [("Content-Encoding", "gzip")], "text/html"),
                           ("unknown", HTML, [("Content-Encoding", "compress")], "text/html"),
                           ("ok", HTML, [], "text/html")])
    kept, dropped, led = extract.extract_shard("crawl", path, CFG)
    assert dropped["reason"].to_list() == ["error/http_decode"] * 2
    assert kept["url"].to_list() == ["https://example.org/ok"]


# The same sentences in three scripts, with no charset in the header or the page: detected from the bytes.
UNDECLARED = {
    "euc-kr": "소금 습지는 조수에 의해 운반된 바닷물에 의해 범람하고 배수되는 해안 습지입니다. 토양은 깊은 진흙과 이탄으로 "
              "구성될 수 있기 때문에 습지입니다. 많은 새들이 이곳에서 겨울을 보냅니다.",
    "shift_jis": "塩性湿地は、潮によって運ばれる海水によって浸水し、排水される沿岸の湿地です。土壌は深い泥と泥炭で"
                 "構成されていることがあるため、湿地になっています。多くの鳥がここで冬を過ごします。",
    "cp1251": "Солончаковые болота — это прибрежные водно-болотные угодья, которые затапливаются и осушаются "
              "морской водой, приносимой приливами. Почва может состоять из глубокого ила и торфа.",
}


@pytest.mark.parametrize("charset", UNDECLARED)
def test_undeclared_charset_is_detected_from_the_bytes(warc_of, charset):
    text = UNDECLARED[charset]
    body = f"<html><body><p>{text}</p></body></html>".encode(charset)
    kept, _, _ = extract.extract_shard("crawl", warc_of(charset, [(charset, body, [], "text/html")]), CFG)
    assert kept["text"][0].strip() == text


def test_declarations_win_over_detection():
    latin = "Grüße aus München".encode("latin-1")
    assert http.charset("ISO-8859-1", latin) == "iso8859-1"
    assert http.charset(None, b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">') == "koi8-r"
    assert http.charset(None, "plain ascii and ütf-8".encode()) == "utf-8"
    assert http.charset(None, "\ufeffbom".encode("utf-16-le")) == "utf-16-le"


def test_control_characters_never_reach_the_text(warc_of):
    body = "<html><body><p>Bell\x07 and escape\x1b[31m red\x1b[0m, nel\x85 gone.</p></body></html>"
    path = warc_of("ctl", [("ctl", body.encode(), [], "text/html; charset=utf-8")])
    kept, _, _ = extract.extract_shard("crawl", path, CFG)
    assert kept["text"][0].strip() == "Bell and escape[31m red[0m, nel gone."
    assert http.clean("a\r\nb\rc\x00d\x9fe\tf\x0bg") == "a\nb\ncde\tfg"
