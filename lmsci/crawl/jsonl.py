"""JSONL sources (encyclopedic text, code): one ``{"id", "url", "text"}`` object per line."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from lmsci.crawl.documents import doc_id, frame, shard_name
from lmsci.ledger import Ledger


def read_shard(source: str, path: str | Path):
    """Return (documents frame, ledger); a line that is not a valid object is counted under error/."""
    shard = shard_name(path)
    led = Ledger("extract", source, shard)
    led.bytes_in = Path(path).stat().st_size
    opener = gzip.open if str(path).endswith(".gz") else open
    rows, offset = [], 0
    with opener(path, "rb") as f:
        for line in f:
            pos, offset = offset, offset + len(line)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
            except (ValueError, KeyError, TypeError) as e:
                led.drop(f"error/{type(e).__name__}", len(line))
                continue
            if not text.strip():
                led.drop("extract/empty", len(line))
                continue
            led.keep(len(line), len(text))
            rows.append({"id": doc_id(source, shard, pos), "source": source, "shard": shard, "offset": pos,
                         "record_id": str(obj.get("id", pos)), "url": str(obj.get("url", "")), "text": text})
    return frame(rows), led


def line_at(path: str | Path, offset: int) -> dict:
    """The JSON object on the line at (uncompressed) byte ``offset``: what a JSONL document id points to."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        f.seek(offset)
        line = f.readline()
    try:
        obj = json.loads(line)
    except ValueError:
        raise ValueError(f"{path}: no JSON object on the line at byte offset {offset}") from None
    return {"record_id": str(obj.get("id", offset)), "url": str(obj.get("url", "")), "text": obj.get("text", "")}
