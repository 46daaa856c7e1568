"""WARC response records → main-content text, one document per record.

The extractor (resiliparse or trafilatura, keeping code and math) is :mod:`lmsci.crawl.html2text`;
with ``extract.timeout_s`` > 0 it runs in a worker process that is killed past the limit
(:mod:`lmsci.crawl.sandbox`), and the page is dropped as ``extract/timeout``.

Charset: the HTTP ``Content-Type`` header first, then the HTML ``<meta charset>``
(``detect_encoding(..., from_html_meta=True)``; without it resiliparse mislabels EUC-KR
as UTF-8 and many UTF-8 French pages as cp1252 — see shared/notes/materials.md).
"""
from __future__ import annotations

import codecs
import zlib
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from lmsci.config import ExtractConfig
from lmsci.crawl.documents import doc_id, frame, shard_name
from lmsci.crawl.html2text import html_to_text
from lmsci.crawl.sandbox import ExtractError, ExtractTimeout, Sandbox
from lmsci.ledger import Ledger

HTML_TYPES = ("text/html", "application/xhtml+xml")
REASONS = ("http_status", "not_html", "too_large", "timeout", "empty")


class CorruptShard(RuntimeError):
    """A shard that cannot be read past some byte offset; the message names file and offset."""


def check_gzip_tail(path: str | Path, start: int) -> None:
    """Raise CorruptShard unless the gzip members from byte ``start`` to the end are all complete.

    fastwarc stops without an error at a member cut short (a truncated download), so the shard
    would silently lose its last records; only the tail after the last record read is decoded."""
    with open(path, "rb") as f:
        f.seek(start)
        pos = member = start
        d = zlib.decompressobj(wbits=31)
        try:
            while chunk := f.read(1 << 16):
                while chunk:
                    d.decompress(chunk, 1 << 20)  # output discarded; bounded per call
                    while d.unconsumed_tail:
                        d.decompress(d.unconsumed_tail, 1 << 20)
                    if d.eof:
                        pos += len(chunk) - len(d.unused_data)
                        chunk, member, d = d.unused_data, pos, zlib.decompressobj(wbits=31)
                    else:
                        pos += len(chunk)
                        chunk = b""
        except zlib.error as e:
            raise CorruptShard(f"{path}: gzip member at byte offset {member} is corrupt ({e})") from None
    if pos > member:
        raise CorruptShard(f"{path}: gzip member at byte offset {member} is truncated (file ends at {pos}); "
                           "re-download the shard")


def charset(http_charset: str | None, raw: bytes) -> str:
    if http_charset:
        try:
            return codecs.lookup(http_charset).name
        except LookupError:
            pass  # an unknown label in the header: fall back to the document's own declaration
    return detect_encoding(raw, from_html_meta=True)


def decode(raw: bytes, http_charset: str | None) -> str:
    return bytes_to_str(raw, charset(http_charset, raw))


def extract_text(raw: bytes, http_charset: str | None, cfg: ExtractConfig) -> str:
    """In-process extraction, no time limit (``lmsci trace`` re-extracts one known record)."""
    return html_to_text(decode(raw, http_charset), cfg.extractor, cfg.main_content)


def _extract(raw: bytes, http_charset: str | None, cfg: ExtractConfig, sandbox: Sandbox | None):
    """(text, None) or (None, drop reason); every failure is a named reason, never an exception."""
    try:
        if sandbox is None:
            return extract_text(raw, http_charset, cfg), None
        return sandbox.extract(decode(raw, http_charset)), None
    except ExtractTimeout:
        return None, "timeout"
    except ExtractError as e:
        return None, f"error/{e.name}"
    except (ValueError, UnicodeError, RuntimeError) as e:  # WorkerDied included; counted, never swallowed
        return None, f"error/{type(e).__name__}"


def _drop_reason(record, raw: bytes, cfg: ExtractConfig) -> str | None:
    status = record.http_headers.status_code if record.http_headers is not None else None
    if status != 200:
        return "http_status"
    ctype = (record.http_content_type or "").split(";")[0].strip().lower()
    if ctype not in HTML_TYPES:
        return "not_html"
    if len(raw) > cfg.max_bytes:
        return "too_large"
    return None


def extract_shard(source: str, path: str | Path, cfg: ExtractConfig, dropped: list | None = None):
    """Read one WARC shard; return (documents frame, ledger). Raises CorruptShard on unreadable bytes.

    With a ``dropped`` list, each dropped record is appended as {id, record_id, url, reason}."""
    shard = shard_name(path)
    led = Ledger("extract", source, shard)
    led.bytes_in = Path(path).stat().st_size
    rows, pos = [], 0
    sandbox = Sandbox(cfg.extractor, cfg.main_content, cfg.timeout_s) if cfg.timeout_s > 0 else None
    try:
        for rec in ArchiveIterator(str(path), record_types=WarcRecordType.any_type, parse_http=True):
            pos = rec.stream_pos
            if rec.record_type != WarcRecordType.response:
                led.skip(str(rec.record_type))
                continue
            raw = rec.reader.read(cfg.max_bytes + 1)
            reason = _drop_reason(rec, raw, cfg)
            if reason is None:
                text, reason = _extract(raw, rec.http_charset, cfg, sandbox)
                if reason is None and len(text.strip()) < cfg.min_chars:
                    reason = "empty"
            if reason is not None:
                reason = reason if reason.startswith("error/") else f"extract/{reason}"
                led.drop(reason, len(raw))
                if dropped is not None:
                    dropped.append({"id": doc_id(source, shard, pos), "record_id": rec.record_id,
                                    "url": rec.headers.get("WARC-Target-URI", ""), "reason": reason})
                continue
            led.keep(len(raw), len(text))
            rows.append({"id": doc_id(source, shard, pos), "source": source, "shard": shard, "offset": pos,
                         "record_id": rec.record_id, "url": rec.headers.get("WARC-Target-URI", ""), "text": text})
    except (OSError, ValueError, RuntimeError) as e:
        raise CorruptShard(f"{path}: unreadable after byte offset {pos}: {e}") from None
    finally:
        if sandbox is not None:
            sandbox.close()
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        check_gzip_tail(path, pos)
    return frame(rows), led


def record_at(path: str | Path, offset: int, cfg: ExtractConfig) -> dict:
    """Re-read the WARC response record at byte ``offset`` (a document id's offset) and extract it again.

    Lineage check for ``lmsci trace``: returns record_id, url and the text extraction gives today.
    """
    with open(path, "rb") as f:
        f.seek(offset)
        for rec in ArchiveIterator(f, record_types=WarcRecordType.any_type, parse_http=True):
            if rec.stream_pos != offset or rec.record_type != WarcRecordType.response:
                break
            raw = rec.reader.read(cfg.max_bytes + 1)
            return {"record_id": rec.record_id, "url": rec.headers.get("WARC-Target-URI", ""),
                    "text": extract_text(raw, rec.http_charset, cfg)}
    raise CorruptShard(f"{path}: no WARC response record starts at byte offset {offset}")
