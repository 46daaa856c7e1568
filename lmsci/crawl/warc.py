"""WARC framing that survives damage: every record of a file comes back whole, or as a named damage.

fastwarc parses a record well but frames a damaged file badly: a ``Content-Length`` that runs past
its record swallows the head of the next one and then aborts the iterator; a gzip member cut short
ends the file silently (issue 10). So the framing is done here and fastwarc only parses one
record's bytes at a time (:mod:`lmsci.crawl.extract`):

* ``.warc.gz`` — one gzip member per record, as the WARC 1.1 spec recommends (Annex D.2) and every
  crawler writes. A member is decompressed with a bounded prefix kept; a record whose block does
  not fit its member is ``extract/truncated`` and the next member is the next record, so two
  records are never merged. A member that does not decompress is ``error/gzip`` and reading
  resumes at the next gzip header that opens a WARC record. A member holding several records
  cannot give each its own byte offset (the document id), so such a file fails with one line.
* ``.warc`` — a record must end with ``\\r\\n\\r\\n`` and be followed by ``WARC/`` or the end of
  the file; if not, it is ``extract/truncated`` and reading resumes after the next
  ``WARC/1.`` at the start of a line.

A record's offset is the byte where it starts in the file (its gzip member for ``.gz``), the same
number fastwarc's ``stream_pos`` gives, so document ids stay what they were.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

MAX_HEADER = 32 << 10  # bytes of a WARC or HTTP header (fastwarc's max_header_len default)
CHUNK = 1 << 16
HEAD = 1 << 13  # bytes read first at a plain record: its WARC header and the head of its block
_RESYNC = b"\nWARC/1."  # a record header at a line start
_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
_FIELD = re.compile(rb"(?im)^(warc-type|warc-record-id|warc-target-uri):[ \t]*(.*?)[ \t]*\r?$")


class CorruptShard(RuntimeError):
    """A shard that cannot be read (or, with ``extract.on_corrupt: fail``, one damaged record);
    the message is one line naming the file and byte offset."""


@dataclass
class Frame:
    """One record's bytes (WARC header + at most ``block_cap`` bytes of its block), or a damage."""

    offset: int
    data: bytes = b""
    block_len: int = 0  # the block's full length (Content-Length), even when ``data`` holds a prefix
    damage: str | None = None  # a drop reason: extract/truncated, error/gzip, error/warc_header, ...
    detail: str = ""
    fields: dict | None = None  # WARC-Type, WARC-Record-ID, WARC-Target-URI (lower-case keys), when readable

    @property
    def type(self) -> str:
        return (self.fields or {}).get("warc-type", "")


def _fields(header: bytes) -> dict:
    return {k.lower().decode(): v.decode("utf-8", "replace") for k, v in _FIELD.findall(header)}


def _header(offset: int, head: bytes, avail: int):
    """(fields, block start, Content-Length) of the record opening ``head``, or a damage Frame."""
    if not head.startswith(b"WARC/1."):
        return Frame(offset, damage="error/not_warc", detail="no WARC/1.x header here")
    end = head.find(b"\r\n\r\n", 0, MAX_HEADER + 4)
    if end < 0:
        if avail > MAX_HEADER:
            return Frame(offset, damage="error/warc_header", detail=f"WARC header over {MAX_HEADER} bytes")
        return Frame(offset, damage="extract/truncated", detail="the record ends inside its WARC header")
    header = head[:end]
    fields, length = _fields(header), _LENGTH.search(header)
    if length is None:
        return Frame(offset, damage="error/warc_header", detail="no Content-Length", fields=fields)
    n, start = int(length.group(1)), end + 4
    if start + n > avail:
        return Frame(offset, block_len=n, damage="extract/truncated", fields=fields,
                     detail=f"Content-Length {n} runs past the record's end ({avail - start} bytes)")
    return fields, start, n


def _parse(offset: int, head: bytes, avail: int, block_cap: int) -> tuple[Frame, int]:
    """Frame the record at the start of ``head`` (``avail`` bytes exist from there on, ``head`` is
    their prefix); return it and the bytes its record spans (header + block + CRLFCRLF)."""
    h = _header(offset, head, avail)
    if isinstance(h, Frame):
        return h, 0
    fields, start, n = h
    return Frame(offset, data=head[: start + min(n, block_cap)], block_len=n, fields=fields), start + n + 4


def frames(f: BinaryIO, gz: bool, block_cap: int, start: int = 0) -> Iterator[Frame]:
    """Every record of the seekable WARC file ``f`` from byte ``start`` (a record's offset) on, in
    file order; see the module doc."""
    f.seek(start)
    yield from (_gz_frames if gz else _plain_frames)(f, block_cap, start)


# -- .warc.gz: one member per record ------------------------------------------------------------------

def _member(f: BinaryIO, pending: bytes, keep: int):
    """Decompress the gzip member starting at ``pending`` (more from ``f``): (prefix of at most ``keep``
    bytes, decompressed length, compressed length, bytes read past it, error or None)."""
    d, head, total, used = zlib.decompressobj(wbits=31), bytearray(), 0, 0
    data = pending or f.read(CHUNK)
    while True:
        try:
            out = d.decompress(data, CHUNK)
        except zlib.error as e:
            return bytes(head), total, used, b"", f"corrupt gzip data ({e})"
        total += len(out)
        if len(head) < keep:
            head += out[: keep - len(head)]
        if d.eof:
            return bytes(head), total, used + len(data) - len(d.unused_data), d.unused_data, None
        if d.unconsumed_tail or len(out) == CHUNK:
            used += len(data) - len(d.unconsumed_tail)
            data = d.unconsumed_tail
            continue
        used += len(data)
        data = f.read(CHUNK)
        if not data:
            return bytes(head), total, used, b"", "truncated gzip member (the file ends inside it)"


def _next_member(f: BinaryIO, after: int) -> int | None:
    """Offset of the first gzip header after byte ``after`` that decompresses to a WARC record start."""
    pos, carry = after, b""
    while True:
        f.seek(pos)
        chunk = f.read(CHUNK)
        if not chunk:
            return None
        buf, base = carry + chunk, pos - len(carry)
        i = buf.find(b"\x1f\x8b\x08")
        while i >= 0:
            f.seek(base + i)
            try:
                if zlib.decompressobj(wbits=31).decompress(f.read(4096), 16).startswith(b"WARC/1."):
                    return base + i
            except zlib.error:
                pass
            i = buf.find(b"\x1f\x8b\x08", i + 1)
        pos, carry = pos + len(chunk), buf[-2:]


def _gz_frames(f: BinaryIO, block_cap: int, offset: int) -> Iterator[Frame]:
    keep = MAX_HEADER + 4 + block_cap + 8
    pending = b""
    while True:
        if not pending:
            pending = f.read(CHUNK)
            if not pending:
                return
        head, total, used, pending, error = _member(f, pending, keep)
        if error is not None:
            frame, _ = _parse(offset, head, total, block_cap)
            reason = "extract/truncated" if error.startswith("truncated") else "error/gzip"
            nxt = None if reason == "extract/truncated" else _next_member(f, offset + 1)
            if nxt is not None:  # whatever lay between is lost with this record: say how much
                error += f"; reading resumed {nxt - offset:,} bytes later, at the next record (byte offset {nxt})"
            yield Frame(offset, damage=reason, detail=error, fields=frame.fields)
            if nxt is None:
                return
            f.seek(nxt)
            offset, pending = nxt, b""
            continue
        if total == len(head) and not head.strip(b"\r\n"):
            offset += used  # an empty member (some writers end a file with one) holds no record
            continue
        frame, span = _parse(offset, head, total, block_cap)
        if frame.damage is None and span < total:
            rest = head[span:]
            if rest.lstrip(b"\r\n").startswith(b"WARC/"):
                raise CorruptShard(f"gzip member at byte offset {offset} holds several WARC records; lmsci needs "
                                   "one member per record (WARC 1.1 Annex D.2): recompress it, e.g. `warcio "
                                   "recompress`")
            if rest.strip(b"\r\n") or total - span > len(rest):
                frame = Frame(offset, block_len=frame.block_len, fields=frame.fields, damage="error/warc_length",
                              detail=f"{total - span} bytes follow the record's Content-Length in its gzip member")
        yield frame
        offset += used


# -- .warc: records back to back ---------------------------------------------------------------------

def _find(f: BinaryIO, start: int, needle: bytes, end: int | None = None) -> int | None:
    """Offset of the first ``needle`` starting in [``start``, ``end``) (streamed), else None."""
    pos, carry = start, b""
    while end is None or pos - len(carry) < end:
        f.seek(pos)
        chunk = f.read(CHUNK)
        if not chunk:
            return None
        buf = carry + chunk
        i = buf.find(needle)
        if i >= 0:
            hit = pos - len(carry) + i
            return hit if end is None or hit < end else None
        pos, carry = pos + len(chunk), buf[-(len(needle) - 1):]
    return None


def _plain_frames(f: BinaryIO, block_cap: int, offset: int) -> Iterator[Frame]:
    size = f.seek(0, 2)
    while offset < size:
        f.seek(offset)
        head = f.read(HEAD)
        if len(head) == HEAD and b"\r\n\r\n" not in head:
            head += f.read(MAX_HEADER + 4 - HEAD)
        if not head.strip(b"\r\n"):
            return  # trailing blank lines are no record
        if not head.startswith(b"WARC/") and head.lstrip(b"\r\n").startswith(b"WARC/"):
            offset += len(head) - len(head.lstrip(b"\r\n"))
            continue
        h = _header(offset, head, size - offset)
        if isinstance(h, Frame):
            frame = h
        else:
            fields, start, n = h
            want = start + min(n, block_cap)
            data = head[:want] if want <= len(head) else head + f.read(want - len(head))
            f.seek(offset + start + n)
            tail = f.read(9)
            ends = tail[:4] == b"\r\n\r\n"
            if ends and not (tail[4:].startswith(b"WARC/") or not tail[4:].strip(b"\r\n")):
                # Not followed by a record: garbage after a good record, or a Content-Length that
                # ran over the next record's header exactly onto a CRLFCRLF. Only the latter has a
                # record header inside the block.
                ends = _find(f, offset + start, _RESYNC, offset + start + n) is None
            if ends:
                yield Frame(offset, data=data, block_len=n, fields=fields)
                offset += start + n + 4
                continue
            frame = Frame(offset, block_len=n, fields=fields, damage="extract/truncated",
                          detail="the record does not end where its Content-Length says (over- or under-run)")
        yield frame
        nxt = _find(f, offset + 1, _RESYNC)
        if nxt is None:
            return
        offset = nxt + 1
