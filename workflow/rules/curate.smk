rule train_quality:
    """DCLM-style quality classifier (fastText): positives from quality.positive_sources vs a seeded sample
    of the ranked pool (every source listing `quality`); model.json records counts, seed, hashes and the
    pool's scores."""
    input:
        positives=[f for s in CFG.quality.positive_sources if s in SOURCES
                   for f in per_shard("{R}/extract/{source}/{shard}.parquet", s)],
        negatives=[f for s in SOURCES if "quality" in CFG.sources[s].filters
                   for f in per_shard("{R}/extract/{source}/{shard}.parquet", s)],
    output:
        model=f"{R}/quality/model.bin",
        meta=f"{R}/quality/model.json",
    log:
        f"{R}/logs/quality/train.log",
    params:
        cfg=cfg("seed", "quality"),
        code=code_version("curate.quality", "io", "cli", "config"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci train-quality --cfg {params.cfg:q} --positives {input.positives}"
        " --negatives {input.negatives} --out {output.model} > {log} 2>&1"


rule tag:
    """Measure: every configured filter's attributes become columns (nothing dropped). A source listing
    `quality` also gets the trained classifier."""
    input:
        unpack(lambda w: {"docs": f"{R}/extract/{w.source}/{w.shard}.parquet"} | (
            {"model": f"{R}/quality/model.bin", "meta": f"{R}/quality/model.json"}
            if "quality" in CFG.sources[w.source].filters else {}) | (
            {"bad_words": CFG.c4.bad_words_file}
            if "c4" in CFG.sources[w.source].filters and CFG.c4.bad_words_file else {})),
    output:
        docs=f"{R}/tag/{{source}}/{{shard}}.parquet",
        stats=f"{R}/tag/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/tag/{{source}}/{{shard}}.log",
    params:
        filters=lambda w: ",".join(CFG.sources[w.source].filters),
        model=lambda w, input: f"--quality-model {input.model}" if "model" in input.keys() else "",
        bad_words=lambda w, input: f"--c4-bad-words {input.bad_words}" if "bad_words" in input.keys() else "",
        code=code_version("curate", "ledger", "io", "cli", "config"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci tag --cfg '{{}}' --source {wildcards.source} --shard {wildcards.shard}"
        " --filters={params.filters} --input {input.docs} {params.model} {params.bad_words} --out {output.docs}"
        " --stats {output.stats} > {log} 2>&1"


rule filter:
    """Decide: thresholds from config on stored attributes; dropped documents kept per reason."""
    input:
        f"{R}/tag/{{source}}/{{shard}}.parquet",
    output:
        docs=f"{R}/filter/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/filter/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/filter/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/filter/{{source}}/{{shard}}.log",
    params:
        cfg=lambda w: cfg(*CFG.sources[w.source].filters),
        filters=lambda w: ",".join(CFG.sources[w.source].filters),
        code=code_version("curate", "ledger", "io", "cli", "config"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci filter --cfg {params.cfg:q} --source {wildcards.source} --shard {wildcards.shard}"
        " --filters={params.filters} --input {input} --out {output.docs} --dropped {output.dropped}"
        " --stats {output.stats} > {log} 2>&1"


rule pii:
    """Redact e-mail addresses, IPs and phone numbers with typed placeholders; counts in the ledger."""
    input:
        f"{R}/filter/{{source}}/{{shard}}.parquet",
    output:
        docs=f"{R}/pii/{{source}}/{{shard}}.parquet",
        stats=f"{R}/pii/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/pii/{{source}}/{{shard}}.log",
    params:
        cfg=cfg("pii"),
        code=code_version("curate.pii", "ledger", "io", "cli", "config"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci pii --cfg {params.cfg:q} --source {wildcards.source} --shard {wildcards.shard}"
        " --input {input} --out {output.docs} --stats {output.stats} > {log} 2>&1"
