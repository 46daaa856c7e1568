"""Aggregate the stage ledgers into a funnel and check that stages hand over every record."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lmsci import ledger

STAGES = ("extract", "tag", "filter", "pii", "dedup_exact", "dedup_minhash", "tokenize")
_FILES = {"extract": "extract/*/*.stats.json", "tag": "tag/*/*.stats.json", "filter": "filter/*/*.stats.json",
          "pii": "pii/*/*.stats.json", "dedup_exact": "dedup/*/stats.json", "dedup_minhash": "minhash/*/stats.json",
          "tokenize": "tokens/*/stats.json"}


class HandoverError(RuntimeError):
    pass


def collect(results: Path) -> dict[str, dict[str, dict]]:
    """stage → source → summed ledger {seen, kept, dropped, chars_in, chars_out}."""
    out: dict[str, dict[str, dict]] = {}
    for stage in STAGES:
        for path in sorted(results.glob(_FILES[stage])):
            d = ledger.load(path)
            agg = out.setdefault(stage, {}).setdefault(d["source"], {
                "seen": 0, "kept": 0, "dropped": Counter(), "chars_in": 0, "chars_out": 0, "extra": Counter()})
            for k in ("seen", "kept", "chars_in", "chars_out"):
                agg[k] += d[k]
            agg["dropped"].update(d["dropped"])
            agg["extra"].update({k: v for k, v in d.get("extra", {}).items() if isinstance(v, int)})
    return out


def check_handover(funnel: dict[str, dict[str, dict]]) -> None:
    """Each stage must see exactly what the stage before it kept, per source."""
    for prev, cur in zip(STAGES, STAGES[1:]):
        for source, agg in funnel.get(cur, {}).items():
            before = funnel.get(prev, {}).get(source)
            if before is None or before["kept"] != agg["seen"]:
                raise HandoverError(f"{source}: {prev} kept {before and before['kept']} but {cur} saw {agg['seen']}")


def rows(funnel: dict[str, dict[str, dict]]) -> list[dict]:
    """Flat table: one row per (source, stage) with kept documents, characters and drops."""
    out = []
    for source in sorted({s for st in funnel.values() for s in st}):
        for stage in STAGES:
            agg = funnel.get(stage, {}).get(source)
            if agg:
                out.append({"source": source, "stage": stage, "seen": agg["seen"], "kept": agg["kept"],
                            "chars_out": agg["chars_out"], "dropped": dict(sorted(agg["dropped"].items()))})
    return out
