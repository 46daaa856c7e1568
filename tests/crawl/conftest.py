"""WARC files with each kind of damage issue 10 names, built byte by byte (warcio writes the records)."""
from __future__ import annotations

import gzip
import io
import random
import re
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SENTENCES = [
    "Salt marshes are coastal wetlands that are flooded and drained by salt water brought in by the tides.",
    "They are marshy because the soil may be composed of deep mud and peat.",
    "Peat is made of decomposing plant matter that is often several feet thick.",
    "Marshes protect shorelines from erosion by buffering wave action and trapping sediments.",
    "They reduce flooding by slowing and absorbing rainwater and protect water quality.",
    "Many fish and shellfish species use the marsh as a nursery before moving to open water.",
    "Migratory birds stop in salt marshes to rest and feed during their long journeys.",
    "Cordgrass is one of the few plants that can tolerate the daily change in salinity.",
    "Early settlers harvested marsh hay to feed their cattle through the winter months.",
    "Ditches dug for mosquito control changed the flow of water through many marshes.",
    "Rising sea levels threaten marshes that cannot build up sediment fast enough.",
    "Restoration projects remove old dikes so that the tide can reach the marsh again.",
    "Scientists measure the carbon stored in marsh soils, which can be kept for centuries.",
    "A walk along a boardwalk at low tide shows crabs, snails and wading herons.",
    "Tidal creeks wind through the marsh and carry nutrients in and out with every tide.",
    "Storm surges are weakened as they pass over wide stretches of marsh vegetation.",
]


def page_html(name: str) -> bytes:
    """A page of real sentences, a different draw per name (so pages are not near-duplicates)."""
    sentences = random.Random(name).sample(SENTENCES, 10)
    return f"<html><body><h1>Page {name}</h1><p>{' '.join(sentences)}</p></body></html>".encode()


def record(name: str, body: bytes | None = None, headers=(), record_id: str | None = None,
           ctype: str = "text/html; charset=utf-8") -> bytes:
    """One uncompressed WARC response record for https://example.org/<name>."""
    body = body if body is not None else page_html(name)
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    hh = StatusAndHeaders("200 OK", [("Content-Type", ctype), *headers], protocol="HTTP/1.1")
    warc_headers = {"WARC-Record-ID": record_id} if record_id else None
    rec = w.create_warc_record(f"https://example.org/{name}", "response", payload=io.BytesIO(body), http_headers=hh,
                               warc_headers_dict=warc_headers)
    w.write_record(rec)
    return buf.getvalue()


def overrun(rec: bytes, extra: int = 300) -> bytes:
    """``rec`` with a Content-Length ``extra`` bytes past its end (it would swallow the next record)."""
    head, rest = rec.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    return re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % (n + extra), head) + b"\r\n\r\n" + rest


def write(path: Path, records: list[bytes], gz: bool = True) -> list[int]:
    """Write the records (one gzip member each for ``gz``); return each record's byte offset."""
    offsets, data = [], b""
    for r in records:
        offsets.append(len(data))
        data += gzip.compress(r, mtime=0) if gz else r
    path.write_bytes(data)
    return offsets


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """name -> (path, offsets of its records, {record index: expected drop reason}); the good pages are
    named p<k> and every readable one must be kept. Read-only for the tests that use it."""
    tmp_path, out = tmp_path_factory.mktemp("damaged"), {}

    def add(name, records, damage, gz=True):
        path = tmp_path / f"{name}.warc{'.gz' if gz else ''}"
        out[name] = (path, write(path, records, gz), damage)

    pages = [record(f"p{i}") for i in range(4)]
    add("overrun", [pages[0], overrun(pages[1]), pages[2]], {1: "extract/truncated"})
    add("overrun-plain", [pages[0], overrun(pages[1]), pages[2]], {1: "extract/truncated"}, gz=False)
    add("big-header", [pages[0], record("big", headers=[("X-Big", "a" * 40_000)]), pages[2]],
        {1: "error/http_header_too_large"})
    path = tmp_path / "cut-tail.warc.gz"  # the last gzip member cut mid-way, as a broken download leaves it
    offsets = write(path, pages[:3])
    path.write_bytes(path.read_bytes()[: offsets[2] + 60])
    out["cut-tail"] = (path, offsets, {2: "extract/truncated"})
    path = tmp_path / "bad-crc.warc.gz"  # the middle member's CRC flipped: reading resumes at the next member
    offsets = write(path, pages[:3])
    data = bytearray(path.read_bytes())
    data[offsets[2] - 8] ^= 0xFF
    path.write_bytes(bytes(data))
    out["bad-crc"] = (path, offsets, {1: "error/gzip"})
    add("clean", pages, {})  # every page undamaged: the texts the others must give
    same = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
    twin = page_html("twin")  # one body twice: an exact duplicate pair
    add("same-record-id", [record("twin-a", twin, record_id=same), record("twin-b", twin, record_id=same)], {})
    return out


@pytest.fixture
def warc_of(tmp_path):
    """(name, [(page name, body bytes, extra HTTP headers, content type)]) -> path of a .warc.gz."""
    def build(name, pages):
        path = tmp_path / f"{name}.warc.gz"
        write(path, [record(n, body, headers, ctype=ctype) for n, body, headers, ctype in pages])
        return path
    return build
