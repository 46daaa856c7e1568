"""Aggregate the stage ledgers into a funnel and check that stages hand over every record.

Stages are found from the ledgers themselves (``<stage dir>/<source>/<shard>.stats.json`` or
``<stage dir>/<source>/stats.json``, each naming its ``stage``), so a stage added to the workflow
appears in the funnel without a change here. ``STAGES`` gives the order of the known ones; a stage
it does not name is listed after them and left out of the handover check (its place is unknown).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lmsci import ledger
from lmsci.io import read_json

STAGES = ("extract", "tag", "filter", "quality", "pii", "decontaminate", "dedup_exact", "dedup_minhash", "tokenize")
_PATTERNS = ("*/*/*.stats.json", "*/*/stats.json")


class HandoverError(RuntimeError):
    pass


def order(stages) -> list[str]:
    rank = {st: i for i, st in enumerate(STAGES)}
    return sorted(set(stages), key=lambda st: (rank.get(st, len(STAGES)), st))


def collect(results: Path) -> dict[str, dict[str, dict]]:
    """stage → source → summed ledger {seen, kept, dropped, chars_in, chars_out, chars_dropped, extra}."""
    out: dict[str, dict[str, dict]] = {}
    paths = sorted({p for pattern in _PATTERNS for p in Path(results).glob(pattern)})
    for path in paths:
        raw = read_json(path)
        if not isinstance(raw, dict) or not {"stage", "source", "seen", "kept", "dropped"} <= set(raw):
            continue  # some other stats file (not a stage ledger)
        d = ledger.load(path)
        agg = out.setdefault(d["stage"], {}).setdefault(d["source"], {
            "seen": 0, "kept": 0, "dropped": Counter(), "chars_in": 0, "chars_out": 0, "chars_dropped": Counter(),
            "extra": Counter()})
        for k in ("seen", "kept", "chars_in", "chars_out"):
            agg[k] += d[k]
        agg["dropped"].update(d["dropped"])
        agg["chars_dropped"].update(d.get("chars_dropped", {}))
        agg["extra"].update({k: v for k, v in d.get("extra", {}).items() if isinstance(v, int)})
    return {st: out[st] for st in order(out)}


def check_handover(funnel: dict[str, dict[str, dict]]) -> None:
    """Each known stage must see exactly what the known stage before it kept, per source."""
    known = [st for st in STAGES if st in funnel]
    for prev, cur in zip(known, known[1:]):
        for source, agg in funnel.get(cur, {}).items():
            before = funnel.get(prev, {}).get(source)
            if before is None or before["kept"] != agg["seen"]:
                raise HandoverError(f"{source}: {prev} kept {before and before['kept']} but {cur} saw {agg['seen']}")


def kept_tokens(agg: dict) -> int | None:
    """Text tokens the tokenize ledger wrote (its counts include one EOD per document)."""
    e = agg["extra"]
    if not {"train_tokens", "valid_tokens", "train_documents", "valid_documents"} <= set(e):
        return None
    return e["train_tokens"] + e["valid_tokens"] - e["train_documents"] - e["valid_documents"]


def rows(funnel: dict[str, dict[str, dict]], dropped_tokens: dict | None = None) -> list[dict]:
    """Flat table: one row per (source, stage) with documents, characters and tokens in and out, and per
    drop reason its documents, characters and tokens.

    Tokens run backwards from what the tokenize stage wrote: a stage's tokens out are the next
    stage's tokens in, and its tokens in add the tokens of what it dropped (``dropped_tokens``:
    (source, stage, reason) → {documents, tokens}, from :func:`lmsci.report.dropped.token_counts`).
    Where a reason's dropped documents are not all stored (extraction failures have no text), its
    tokens, and the tokens into that stage and every earlier one, are unknown (None).
    """
    dropped_tokens = dropped_tokens or {}
    out = []
    for source in sorted({s for st in funnel.values() for s in st}):
        chain = [(st, funnel[st][source]) for st in funnel if source in funnel[st]]
        source_rows = []
        tokens = None
        for stage, agg in reversed(chain):
            if stage == "tokenize":
                tokens = kept_tokens(agg)
            tokens_out, reasons = tokens, {}
            for reason, n in sorted(agg["dropped"].items()):
                stored = dropped_tokens.get((source, stage, reason))
                t = stored["tokens"] if stored and stored["documents"] == n else None
                reasons[reason] = {"documents": n, "chars": agg["chars_dropped"].get(reason), "tokens": t}
                tokens = None if tokens is None or t is None else tokens + t
            source_rows.append({"source": source, "stage": stage, "seen": agg["seen"], "kept": agg["kept"],
                                "chars_in": agg["chars_in"], "chars_out": agg["chars_out"],
                                "tokens_in": tokens, "tokens_out": tokens_out, "dropped": reasons})
        out += reversed(source_rows)
    return out
