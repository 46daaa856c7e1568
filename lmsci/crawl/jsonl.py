"""JSONL sources (encyclopedic text, code): one ``{"id", "url", "text"}`` object per line.

``read_shard(source, path)`` is the ``extract`` stage of a JSONL source (:mod:`lmsci.stage`): kept
documents, one dropped row per other line, the ledger. A damaged line is counted under
``error/<kind>`` — ``json`` (not JSON), ``encoding`` (not UTF-8), ``surrogate`` (a lone ``\\udXXX``
escape, which no UTF-8 file can hold), ``too_deep`` (nesting past Python's recursion limit),
``not_object``, ``no_text`` — and reading goes on. A damaged container (a ``.gz`` cut short or
failing its CRC) keeps every line decompressed before the damage is noticed (a CRC is checked at
the end of its gzip member) and counts the rest as one
``error/truncated`` row, with file and (uncompressed) byte offset in the ledger's
``extra["damaged"]``; with ``on_corrupt: fail`` it stops the shard with that one line.
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path


from lmsci.crawl import remote
from lmsci.crawl.documents import DROPPED_EXTRA, doc_id, frame, shard_name
from lmsci.crawl.warc import CorruptShard
from lmsci.ledger import Ledger
from lmsci.stage import dropped_frame

AUDIT_CHARS = 2000  # characters of a damaged line kept in dropped.parquet for auditing


def _parse(line: bytes) -> tuple[dict | None, str | None]:
    """(object, None) or (None, drop reason)."""
    try:
        obj = json.loads(line)
    except RecursionError:
        return None, "error/too_deep"
    except UnicodeDecodeError:
        return None, "error/encoding"
    except ValueError:
        return None, "error/json"
    if not isinstance(obj, dict):
        return None, "error/not_object"
    if not isinstance(obj.get("text"), str):
        return None, "error/no_text"
    try:
        for v in (obj["text"], obj.get("url"), obj.get("id")):
            if isinstance(v, str):
                v.encode("utf-8")
    except UnicodeEncodeError:
        return None, "error/surrogate"
    return obj, None


def _open(path: str | Path):
    """(underlying stream, line stream): gunzipped for ``.gz``, whose first bytes must be gzip's."""
    raw = remote.open_input(path)
    if not str(path).endswith(".gz"):
        return raw, raw
    magic = raw.read(2)
    raw.seek(0)
    if magic != b"\x1f\x8b":
        raw.close()
        raise CorruptShard(f"{path}: {'an empty file' if not magic else 'not gzip data'} at byte offset 0, "
                           "but the name ends in .gz; re-download the shard")
    return raw, gzip.GzipFile(fileobj=raw, mode="rb")


def read_shard(source: str, path: str | Path, on_corrupt: str = "count"):
    """Read one JSONL shard: (kept documents, dropped rows, ledger); see the module doc."""
    shard, file = shard_name(path), str(path)
    led = Ledger("extract", source, shard)
    led.bytes_in = remote.size(path)
    rows, drops, offset = [], [], 0

    def drop(pos: int, reason: str, raw: bytes, detail: str = "", url: str = "") -> None:
        led.drop(reason, len(raw))
        drops.append({"id": doc_id(source, shard, pos), "url": url, "reason": reason, "record_id": None,
                      "text": raw[:AUDIT_CHARS * 4].decode("utf-8", "replace")[:AUDIT_CHARS],
                      "offset": pos, "file": file, "detail": detail})

    raw, f = _open(path)
    with raw, f:
        try:
            for line in f:
                pos, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                obj, reason = _parse(line)
                if reason is not None:
                    drop(pos, reason, line)
                    continue
                url, text = str(obj.get("url", "")), obj["text"]
                if not text.strip():
                    drop(pos, "extract/empty", line, url=url)
                    continue
                led.keep(len(line), len(text))
                rows.append({"id": doc_id(source, shard, pos), "source": source, "shard": shard, "offset": pos,
                             "record_id": str(obj.get("id", pos)), "url": url, "text": text})
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            detail = f"damaged gzip container after uncompressed byte {offset} ({e})"
            if on_corrupt == "fail":
                raise CorruptShard(f"{path}: {detail} (extract.on_corrupt: count keeps the lines before it)") from None
            led.extra["damaged"] = [{"file": file, "offset": offset, "reason": "error/truncated", "detail": detail}]
            drop(offset, "error/truncated", b"", detail)
    return frame(rows), dropped_frame(drops, DROPPED_EXTRA), led


def line_at(path: str | Path, offset: int) -> dict:
    """The JSON object on the line at (uncompressed) byte ``offset``: what a JSONL document id points to."""
    raw, f = _open(path)
    with raw, f:
        f.seek(offset)
        line = f.readline()
    obj, reason = _parse(line)
    if obj is None:
        raise ValueError(f"{path}: no JSON object on the line at byte offset {offset} ({reason})")
    return {"record_id": str(obj.get("id", offset)), "url": str(obj.get("url", "")), "text": obj["text"]}
