rule train_quality:
    """DCLM-style quality classifier (fastText): positives from quality.positive_sources vs a seeded sample
    of the ranked pool (every source listing `quality`); model.json records counts, seed, hashes and the
    pool's scores."""
    input:
        positives=quality_positives(),
        negatives=quality_negatives(),
    output:
        model=f"{R}/quality/model.bin",
        meta=f"{R}/quality/model.json",
    log:
        f"{R}/logs/quality/train.log",
    benchmark:
        bench("train_quality")
    params:
        cfg=cfg("seed", "quality"),
        code=verb_version("train-quality"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci train-quality --cfg {params.cfg:q} --positives {input.positives:q}"
        " --negatives {input.negatives:q} --out {output.model:q} > {log:q} 2>&1"


rule tag:
    """Measure: every configured filter's attributes become columns (nothing dropped). A source listing
    `quality` also gets the trained classifier."""
    input:
        unpack(tag_inputs),
    output:
        docs=f"{R}/tag/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/tag/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/tag/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/tag/{{source}}/{{shard}}.log",
    benchmark:
        bench("tag", "{source}/{shard}")
    params:
        cfg=tag_cfg,
        filters=filter_list,
        options=tag_options,
        code=verb_version("tag"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci tag --cfg {params.cfg:q} --source {wildcards.source:q} --shard {wildcards.shard:q}"
        " --filters={params.filters:q} --input {input.docs:q} {params.options:q} --out {output.docs:q}"
        " --dropped {output.dropped:q} --stats {output.stats:q} > {log:q} 2>&1"


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
    benchmark:
        bench("filter", "{source}/{shard}")
    params:
        cfg=filter_cfg,
        filters=filter_list,
        code=verb_version("filter"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci filter --cfg {params.cfg:q} --source {wildcards.source:q} --shard {wildcards.shard:q}"
        " --filters={params.filters:q} --input {input:q} --out {output.docs:q} --dropped {output.dropped:q}"
        " --stats {output.stats:q} > {log:q} 2>&1"


rule pii:
    """Redact e-mail addresses, IPs, phone numbers, credit-card numbers and IBANs with typed placeholders;
    counts in the ledger."""
    input:
        f"{R}/filter/{{source}}/{{shard}}.parquet",
    output:
        docs=f"{R}/pii/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/pii/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/pii/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/pii/{{source}}/{{shard}}.log",
    benchmark:
        bench("pii", "{source}/{shard}")
    params:
        cfg=cfg("pii"),
        code=verb_version("pii"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci pii --cfg {params.cfg:q} --source {wildcards.source:q} --shard {wildcards.shard:q}"
        " --input {input:q} --out {output.docs:q} --dropped {output.dropped:q} --stats {output.stats:q}"
        " > {log:q} 2>&1"
