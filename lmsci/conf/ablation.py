"""The ``ablation:`` section: named data variants of the run, each trained on ``seeds`` (issue 13).

A variant is a small overlay on the run's own config restricted to curation and mixing keys (filters
and their thresholds or ``impl``, the quality classifier, PII, exact/MinHash dedup, each source's
``weight`` and ``filters``). What the comparison holds fixed — the model, the training recipe and its
token budget (steps × global_batch_size × seq_length), the tokenizer and the evaluation set — cannot be
overlaid: :func:`lmsci.ablation.variants.check` refuses such a variant with one line naming the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lmsci.conf.base import Section, bounded, fail, fraction, seed, unique

# Names the results tree uses itself (results/ablation/<name>/...): not available to a variant.
RESERVED = ("baseline", "eval", "data", "benchmarks", "logs")


@dataclass(frozen=True)
class AblationConfig(Section):
    # Training seeds per variant. Two is the floor for a spread; DCLM and FineWeb report seed noise
    # from 2–5 seeds of their small ablation models (Li et al. 2024 §3; Penedo et al. 2024 §3).
    seeds: list[int] = field(default_factory=list)
    # name → overlay (a mapping over the run's config: curation/mixing keys only).
    variants: dict[str, dict] = field(default_factory=dict)
    # Share of every source's extracted documents held out as the fixed evaluation set, chosen by a seeded
    # hash of the document id before any filter, so no variant can change it.
    eval_fraction: float = 0.05
    eval_max_documents: int = 200  # per source: the evaluation set's size cap (cost of scoring)
    # Tokens scored per evaluation document (its first ones): a 15k-token article would otherwise outweigh
    # dozens of pages in the token-weighted loss, and cost scoring time every run.
    eval_document_tokens: int = 1024
    resamples: int = 2000  # paired bootstrap over evaluation documents (Efron & Tibshirani 1993: ≥ 1,000 for a CI)
    ci_level: float = 0.95
    lm_eval: bool = True  # lm-eval's local tasks (lmsci.evaluate.tasks) per variant × seed, from the evaluation set

    def check(self) -> None:
        if not self.variants and not self.seeds:
            return  # no ablation in this run
        if not self.variants:
            fail("variants", "list at least one variant (name: overlay), or remove ablation.seeds")
        if len(self.seeds) < 2:
            fail("seeds", f"list at least 2 training seeds (got {len(self.seeds)}): one seed gives no spread")
        unique("seeds", self.seeds)
        for i, s in enumerate(self.seeds):
            seed(f"seeds[{i}]", s)
        for name, overlay in self.variants.items():
            if not name.isidentifier() or not name.isascii() or name in RESERVED:
                fail(f"variants.{name}", "variant names become directory names: ASCII identifiers (letters, "
                     f"digits, _), not one of {', '.join(RESERVED)}")
            if not isinstance(overlay, dict) or not overlay:
                fail(f"variants.{name}", "expected a non-empty mapping of config keys to change")
        bounded("eval_fraction", self.eval_fraction, 0.0, 0.5, lo_open=True,
                fix="a share of each source's documents; more than half leaves too little to train on")
        bounded("eval_max_documents", self.eval_max_documents, 1, 100_000)
        bounded("eval_document_tokens", self.eval_document_tokens, 16, 1_000_000)
        bounded("resamples", self.resamples, 100, 1_000_000)
        fraction("ci_level", self.ci_level)
        bounded("ci_level", self.ci_level, 0.5, 1.0, hi_open=True)
