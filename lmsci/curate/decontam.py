"""Decontamination: training documents that share word n-grams with the evaluation texts are dropped.

GPT-3 (Brown et al. 2020, Appendix C) counts a training document as contaminated when it shares a
13-gram with a benchmark example, on lower-cased word tokens. Here the evaluation texts are the
held-out (``valid``) documents of every source — validation perplexity and the local lm-eval tasks
(lmsci.evaluate.tasks) are built from them — plus any ``decontam.extra_paths`` (benchmark texts a
user adds). GPT-3 cut the colliding span out of the document; here the whole document is dropped
(reason ``decontam/contaminated``), so every token trained on is untouched text.

An evaluation text shorter than ``ngram`` words has no n-gram and cannot match; it is counted
(``short_texts``) rather than silently ignored.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lmsci.config import DecontamConfig

REASON = "decontam/contaminated"
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Normalised word tokens: lower case, runs of letters/digits/underscore (punctuation dropped)."""
    return _WORD.findall(text.lower())


def ngrams(text: str, n: int):
    w = words(text)
    return (tuple(w[i:i + n]) for i in range(len(w) - n + 1))


@dataclass
class Index:
    """The evaluation texts' n-grams (exact word tuples: no hash collisions)."""

    ngram: int
    min_overlaps: int
    grams: set = field(default_factory=set)
    texts: int = 0
    short_texts: int = 0

    def add(self, text: str) -> None:
        self.texts += 1
        grams = set(ngrams(text, self.ngram))
        self.short_texts += not grams
        self.grams |= grams

    def overlaps(self, text: str) -> int:
        """Distinct n-grams ``text`` shares with the evaluation texts."""
        if not self.grams:
            return 0
        return len({g for g in ngrams(text, self.ngram) if g in self.grams})

    def contaminated(self, text: str) -> int:
        """The overlap count when it reaches ``min_overlaps``, else 0."""
        n = self.overlaps(text)
        return n if n >= self.min_overlaps else 0

    def stats(self) -> dict[str, int]:
        return {"decontam_eval_texts": self.texts, "decontam_eval_short_texts": self.short_texts,
                "decontam_eval_ngrams": len(self.grams)}


def read_texts(path: str | Path) -> list[str]:
    """A benchmark file: .jsonl(.gz) → each object's "text"; .txt → blank-line separated texts."""
    path = Path(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.name.endswith(".gz") else open
        out = []
        with opener(path, "rt", encoding="utf-8") as f:
            for i, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                    text = obj["text"]
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{path}:{i}: expected a JSON object with a \"text\" string") from None
                if not isinstance(text, str):
                    raise ValueError(f"{path}:{i}: \"text\" is not a string")
                out.append(text)
        return out
    if path.name.endswith(".txt"):
        return [t for t in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if t.strip()]
    raise ValueError(f"{path}: decontam.extra_paths takes .jsonl, .jsonl.gz or .txt files")


def build(held_out: list[str], cfg: DecontamConfig, extra: list[str | Path] = ()) -> Index:
    """Index the held-out documents plus the texts of each ``extra`` file."""
    index = Index(cfg.ngram, cfg.min_overlaps)
    for text in held_out:
        index.add(text)
    for path in extra:
        for text in read_texts(path):
            index.add(text)
    return index
