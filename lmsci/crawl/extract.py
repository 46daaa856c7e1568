"""WARC response records → main-content text: the ``extract`` stage, one named outcome per record.

``extract_shard(source, path, cfg)`` is a stage of :mod:`lmsci.stage` whose input is a shard path
(local or an fsspec URL, :mod:`lmsci.crawl.remote`): it returns the kept documents, one dropped row
per other response record (id, url, reason, text, record_id, offset, file, detail) and the ledger.

* Framing survives damage (:mod:`lmsci.crawl.warc`): a record cut short or whose Content-Length
  runs past its end is ``extract/truncated``, a gzip member that does not decompress ``error/gzip``,
  and reading goes on at the next record; each damage is listed (file, byte offset, what) in the
  ledger's ``extra["damaged"]``. With ``extract.on_corrupt: fail`` the first one stops the shard
  with one line naming file and offset. A file that is no WARC at all (a zero-byte or non-gzip
  ``.gz`` included) always fails that way.
* HTTP decoding, charset and control characters: :mod:`lmsci.crawl.http`.
* The extractor (resiliparse or trafilatura, keeping code and math) is :mod:`lmsci.crawl.html2text`;
  with ``extract.timeout_s`` > 0 it runs in a worker process that is killed past the limit
  (:mod:`lmsci.crawl.sandbox`), and the page is dropped as ``extract/timeout``.
"""
from __future__ import annotations

from pathlib import Path


from lmsci.config import ExtractConfig
from lmsci.crawl import http, remote
from lmsci.crawl.documents import DROPPED_EXTRA, doc_id, frame, shard_name
from lmsci.crawl.html2text import html_to_text
from lmsci.crawl.sandbox import ExtractError, ExtractTimeout, Sandbox
from lmsci.crawl.warc import MAX_HEADER, CorruptShard, Frame, frames
from lmsci.ledger import Ledger
from lmsci.stage import dropped_frame

HTML_TYPES = ("text/html", "application/xhtml+xml")
charset, decode = http.charset, http.decode  # the charset rules, importable from here as before

__all__ = ["CorruptShard", "extract_shard", "worker", "extract_text", "record_at", "charset", "decode"]


def extract_text(raw: bytes, http_charset: str | None, cfg: ExtractConfig) -> str:
    """In-process extraction of an HTTP body, no time limit."""
    return http.clean(html_to_text(decode(raw, http_charset), cfg.extractor, cfg.main_content))


def _extract(raw: bytes, http_charset: str | None, cfg: ExtractConfig, sandbox: Sandbox | None):
    """(text, None) or (None, drop reason); every failure is a named reason, never an exception."""
    try:
        if sandbox is None:
            return extract_text(raw, http_charset, cfg), None
        return http.clean(sandbox.extract_bytes(raw, charset(http_charset, raw))), None
    except ExtractTimeout:
        return None, "extract/timeout"
    except ExtractError as e:
        return None, f"error/{e.name}"
    except (ValueError, UnicodeError, RuntimeError) as e:  # WorkerDied included; counted, never swallowed
        return None, f"error/{type(e).__name__}"


def _block_cap(cfg: ExtractConfig) -> int:
    """Bytes of a record's block kept: its HTTP header (at most MAX_HEADER) and max_bytes + 1 of body."""
    return MAX_HEADER + 4 + cfg.max_bytes + 1


def _record(fr: Frame, cfg: ExtractConfig, sandbox: Sandbox | None) -> dict:
    """One response record's outcome: record_id, url, text (None when dropped), reason, chars_in."""
    out = {"record_id": fr.fields.get("warc-record-id", ""), "url": fr.fields.get("warc-target-uri", ""),
           "text": None, "reason": None, "chars_in": 0}
    try:
        rec, status, ctype, raw = http.response(fr.data, cfg.max_bytes + 1)
    except http.HttpError as e:  # a block cut at _block_cap cannot decode: too large, not damaged
        return out | {"reason": "extract/too_large" if fr.block_len > _block_cap(cfg) else e.reason}
    out.update(record_id=rec.record_id, url=rec.headers.get("WARC-Target-URI", ""), chars_in=len(raw))
    if status != 200:
        return out | {"reason": "extract/http_status"}
    if ctype not in HTML_TYPES:
        return out | {"reason": "extract/not_html"}
    if len(raw) > cfg.max_bytes or fr.block_len > _block_cap(cfg):
        return out | {"reason": "extract/too_large"}
    text, reason = _extract(raw, rec.http_charset, cfg, sandbox)
    if reason is None and len(text.strip()) < cfg.min_chars:
        reason = "extract/empty"
    return out | {"text": text, "reason": reason}


def worker(cfg: ExtractConfig) -> Sandbox | None:
    """The extraction worker ``cfg`` asks for (None: ``timeout_s`` 0, extraction in this process)."""
    return Sandbox(cfg.extractor, cfg.main_content, cfg.timeout_s) if cfg.timeout_s > 0 else None


def _open(path: str | Path):
    """The shard as a seekable stream and whether it is gzip; a file that cannot be a WARC fails here."""
    f = remote.open_input(path)
    magic = f.read(2)
    f.seek(0)
    if str(path).endswith(".gz") and magic != b"\x1f\x8b":
        f.close()
        what = "an empty file" if not magic else "not gzip data"
        raise CorruptShard(f"{path}: {what} at byte offset 0, but the name ends in .gz; re-download the shard")
    return f, magic == b"\x1f\x8b"


def _damage(fr: Frame, path: str | Path, cfg: ExtractConfig) -> dict:
    """A damaged frame as its ledger entry; raises CorruptShard where it must stop the shard."""
    if fr.offset == 0 and fr.damage == "error/not_warc":
        raise CorruptShard(f"{path}: not a WARC file (no WARC/1.x record at byte offset 0)")
    if cfg.on_corrupt == "fail":
        raise CorruptShard(f"{path}: {fr.damage} at byte offset {fr.offset}: {fr.detail} "
                           "(extract.on_corrupt: count keeps the readable records)")
    return {"file": str(path), "offset": fr.offset, "reason": fr.damage, "detail": fr.detail}


def extract_shard(source: str, path: str | Path, cfg: ExtractConfig, sandbox: Sandbox | None = None):
    """Read one WARC shard: (kept documents, dropped rows, ledger); see the module doc. ``sandbox``: a
    worker to share across shards (:func:`worker`; closed by its owner), else one is started for this
    shard when ``cfg.timeout_s`` > 0."""
    shard, file = shard_name(path), str(path)
    led = Ledger("extract", source, shard)
    led.bytes_in = remote.size(path)
    damaged: list[dict] = []
    rows, drops = [], []
    f, gz = _open(path)
    own = sandbox is None
    if own:
        sandbox = worker(cfg)
    try:
        for fr in frames(f, gz, _block_cap(cfg)):
            did, kind = doc_id(source, shard, fr.offset), fr.type.lower()
            if fr.damage is not None:
                damaged.append(_damage(fr, path, cfg))
                if kind and kind != "response":
                    led.skip(kind)  # a damaged request/metadata record is no document either way
                    continue
                led.drop(fr.damage)
                fields = fr.fields or {}
                drops.append({"id": did, "url": fields.get("warc-target-uri", ""), "reason": fr.damage, "text": None,
                              "record_id": fields.get("warc-record-id", ""), "offset": fr.offset, "file": file,
                              "detail": fr.detail})
                continue
            if kind != "response":
                led.skip(kind or "unknown")
                continue
            out = _record(fr, cfg, sandbox)
            if out["reason"] is not None:
                led.drop(out["reason"], out["chars_in"])
                drops.append({"id": did, "url": out["url"], "reason": out["reason"], "text": out["text"],
                              "record_id": out["record_id"], "offset": fr.offset, "file": file, "detail": ""})
                continue
            led.keep(out["chars_in"], len(out["text"]))
            rows.append({"id": did, "source": source, "shard": shard, "offset": fr.offset,
                         "record_id": out["record_id"], "url": out["url"], "text": out["text"]})
    except CorruptShard as e:  # from the framing: name the file once
        raise CorruptShard(str(e) if str(e).startswith(file) else f"{path}: {e}") from None
    except OSError as e:
        raise CorruptShard(f"{path}: cannot be read ({e})") from None
    finally:
        f.close()
        if own and sandbox is not None:
            sandbox.close()
    if damaged:
        led.extra["damaged"] = damaged
    return frame(rows), dropped_frame(drops, DROPPED_EXTRA), led


def record_at(path: str | Path, offset: int, cfg: ExtractConfig) -> dict:
    """Re-read the WARC response record at byte ``offset`` (a document id's offset) and extract it again.

    Lineage check for ``lmsci trace``: returns record_id, url and the text extraction gives today
    (the same framing, decoding and extraction as :func:`extract_shard`, without the time limit)."""
    f, gz = _open(path)
    with f:
        fr = next(frames(f, gz, _block_cap(cfg), start=offset), None)
    if fr is None or fr.damage is not None or fr.type.lower() != "response":
        raise CorruptShard(f"{path}: no readable WARC response record starts at byte offset {offset}")
    out = _record(fr, cfg, None)
    return {"record_id": out["record_id"], "url": out["url"], "text": out["text"] or ""}
