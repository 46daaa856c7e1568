"""One WARC response record → (HTTP status, content type, decoded HTML string).

* HTTP bodies: fastwarc's ``auto_decode="all"`` undoes ``Transfer-Encoding: chunked`` and
  ``Content-Encoding`` gzip / deflate / br, streaming, so reading ``max_bytes + 1`` bounds a
  compression bomb. Common Crawl stores bodies already decoded and renames the headers to
  ``X-Crawler-Content-Encoding`` / ``X-Crawler-Transfer-Encoding``; those are not decoding
  instructions and are left alone. What fastwarc refuses — ``x-gzip`` (RFC 9110 §8.4.1.3: the same
  as gzip), a ``deflate`` body sent without its zlib wrapper (§8.4.1.2 says to wrap it; some
  servers do not) — is undone here; anything else is ``error/http_decode``.
* Charset: the HTTP ``Content-Type`` header, then the page's ``<meta charset>`` / ``http-equiv``
  (HTML's prescan), then a byte-order mark; with no declaration, valid UTF-8 is UTF-8 and anything
  else is detected from the bytes by charset-normalizer (issue 10: an undeclared EUC-KR page was
  read as UTF-8, 0 of 5 right).
* Text: C0/C1 control characters other than tab and newline never reach the training text (an
  ESC or BEL in a page is markup debris, not language); CR and CRLF become newlines.
"""
from __future__ import annotations

import codecs
import io
import re
import zlib

from fastwarc.warc import WarcRecord
from resiliparse.parse.encoding import bytes_to_str

from lmsci.crawl.warc import MAX_HEADER

_META = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.\-]+)", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
META_PRESCAN = 4096  # bytes searched for <meta charset>; HTML's prescan reads 1024, pages put it later


class HttpError(ValueError):
    """A response that cannot be decoded; ``reason`` is its drop reason."""

    def __init__(self, reason: str, msg: str):
        super().__init__(msg)
        self.reason = reason


def _lookup(label: str | bytes | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.decode("ascii", "replace") if isinstance(label, bytes) else label).name
    except LookupError:
        return None


def charset(http_charset: str | None, raw: bytes) -> str:
    """The charset to decode ``raw`` with (a Python codec name); see the module doc for the order."""
    if declared := _lookup(http_charset):
        return declared
    meta = _META.search(raw, 0, META_PRESCAN)
    if meta and (declared := _lookup(meta.group(1))):
        return declared
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(raw).best()
    return _lookup(best.encoding) if best is not None else "cp1252"


def decode(raw: bytes, http_charset: str | None) -> str:
    return bytes_to_str(raw, charset(http_charset, raw))


def clean(text: str) -> str:
    """Newlines for CR/CRLF; other C0/C1 control characters (tab and newline kept) removed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _parsed(data: bytes, auto_decode: str) -> WarcRecord:
    rec = WarcRecord.from_reader(io.BytesIO(data))
    rec.parse_http(auto_decode=auto_decode, max_header_len=MAX_HEADER)
    return rec


def response(data: bytes, limit: int):
    """Parse one record's bytes (:class:`lmsci.crawl.warc.Frame.data`): (record, status, content type,
    at most ``limit`` bytes of the decoded body). Raises :class:`HttpError` with a drop reason."""
    try:
        rec = _parsed(data, "all")
        body = rec.reader.read(limit)
    except OSError as e:
        if "header length" in str(e):
            raise HttpError("error/http_header_too_large", f"HTTP header over {MAX_HEADER} bytes") from None
        rec, body = _fallback(data, limit, e)
    status = rec.http_headers.status_code if rec.http_headers is not None else None
    ctype = (rec.http_content_type or "").split(";")[0].strip().lower()
    return rec, status, ctype, body


def _fallback(data: bytes, limit: int, error: OSError):
    """fastwarc refused the content coding (``x-gzip``, raw deflate, ...): undo the transfer coding
    with fastwarc and the content codings here, last applied first (RFC 9110 §8.4)."""
    try:
        rec = _parsed(data, "transfer")
        body = rec.reader.read()  # bounded: a frame holds at most the record's first block_cap bytes
    except OSError as e:
        raise HttpError("error/http_header", f"unreadable HTTP header or body ({e})") from None
    codings = rec.http_headers.get("Content-Encoding", "") if rec.http_headers is not None else ""
    for coding in reversed([c.strip().lower() for c in codings.split(",") if c.strip()]):
        body = _undo(coding, body, limit)
        if body is None:
            raise HttpError("error/http_decode", f"body does not decode as {codings} ({error})")
    return rec, body[:limit]


def _undo(coding: str, body: bytes, limit: int) -> bytes | None:
    """One content coding undone (at most ``limit`` bytes out), or None when unknown or broken (br
    and zstd bodies are fastwarc's; one that failed there fails here too)."""
    if coding == "identity":
        return body
    for wbits in {"gzip": (47,), "x-gzip": (47,), "deflate": (15, -15)}.get(coding, ()):  # 47: gzip or zlib
        try:
            return zlib.decompressobj(wbits=wbits).decompress(body, limit)
        except zlib.error:
            continue
    return None
