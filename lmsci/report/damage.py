"""Damaged input, listed for the report: every record or container the extract stage could not read.

The extract ledgers carry ``extra["damaged"]`` (lmsci.crawl.extract / lmsci.crawl.jsonl): one entry per
damaged WARC record or JSONL container with its file, byte offset, reason and detail. The report lists
them all (they are also counted in the funnel's drop reasons), so a cut download is named, not averaged in.
"""
from __future__ import annotations

from pathlib import Path

from lmsci.io import read_json


def entries(results: Path) -> list[dict]:
    """Every damage entry of every extract ledger, in (source, file, offset) order."""
    out = []
    for path in sorted(Path(results).glob("extract/*/*.stats.json")):
        led = read_json(path)
        for d in (led.get("extra") or {}).get("damaged") or []:
            out.append({"source": led.get("source", path.parent.name), "shard": led.get("shard", ""),
                        "file": str(d.get("file", "")), "offset": d.get("offset"),
                        "reason": str(d.get("reason", "")), "detail": str(d.get("detail", ""))})
    return sorted(out, key=lambda d: (d["source"], d["file"], d["offset"] if isinstance(d["offset"], int) else -1))
