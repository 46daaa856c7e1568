"""What the report rule reads, found from the workflow's own rules (Snakefile include: report.smk).

Kept here rather than as functions in the .smk file (Snakemake's linter wants rules and functions
apart): pure functions of the rule objects' output patterns, testable without a workflow.
"""
from __future__ import annotations

import re


def dropped_files(rules, shard_names: dict[str, list[str]]) -> list[str]:
    """Every curation stage's stored drops: the ``dropped`` output of any rule, per source (and
    shard), so a stage added later becomes an input of the report without a change here.
    ``shard_names``: source → shard names. Patterns with other wildcards are not ours to fill."""
    out = []
    for r in rules:
        pattern = r.output.get("dropped") if hasattr(r.output, "get") else None
        if not pattern or set(re.findall(r"{(\w+)", pattern)) - {"source", "shard"}:
            continue
        for source, shards in sorted(shard_names.items()):  # patterns carry constraints: {source,code|crawl}
            with_source = re.sub(r"{source[^}]*}", source, pattern)
            out += ([re.sub(r"{shard[^}]*}", sh, with_source) for sh in shards] if "{shard" in pattern
                    else [with_source])
    return sorted(out)
