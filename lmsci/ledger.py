"""The per-stage stats ledger: every record seen is kept or dropped with a named reason.

``seen = kept + Σ dropped[reason]`` is checked before a ledger is written, and the
report checks that each stage saw exactly what the stage before it kept.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lmsci.io import read_json, write_json


class LedgerError(RuntimeError):
    pass


@dataclass
class Ledger:
    stage: str
    source: str
    shard: str
    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # records that are not documents (warcinfo, request, ...)
    chars_in: int = 0
    chars_out: int = 0
    chars_dropped: Counter = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    extra: dict = field(default_factory=dict)

    def keep(self, chars_in: int, chars_out: int | None = None) -> None:
        self.seen += 1
        self.kept += 1
        self.chars_in += chars_in
        self.chars_out += chars_in if chars_out is None else chars_out

    def drop(self, reason: str, chars_in: int = 0) -> None:
        if not reason:
            raise LedgerError(f"{self.stage}/{self.shard}: a drop needs a named reason")
        self.seen += 1
        self.dropped[reason] += 1
        self.chars_in += chars_in
        self.chars_dropped[reason] += chars_in

    def skip(self, kind: str) -> None:
        self.skipped[kind] += 1

    def check(self) -> None:
        total = self.kept + sum(self.dropped.values())
        if total != self.seen:
            raise LedgerError(f"{self.stage}/{self.source}/{self.shard}: seen {self.seen} != kept {self.kept} "
                              f"+ dropped {sum(self.dropped.values())}")

    def to_dict(self) -> dict:
        """The counts: deterministic, so the stats file is byte-identical across reruns."""
        self.check()
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
             if not f.name.startswith("_")}
        for k in ("dropped", "skipped", "chars_dropped"):
            d[k] = dict(sorted(d[k].items()))
        return d

    def write(self, path: str | Path) -> None:
        """The counts only: what a job cost comes from Snakemake's ``benchmark:`` file of its rule."""
        write_json(path, self.to_dict())


def load(path: str | Path) -> dict:
    d = read_json(path)
    if d["seen"] != d["kept"] + sum(d["dropped"].values()):
        raise LedgerError(f"{path}: ledger does not add up")
    return d
