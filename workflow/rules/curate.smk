rule tag:
    """Measure: every configured filter's attributes become columns (nothing dropped)."""
    input:
        f"{R}/extract/{{source}}/{{shard}}.parquet",
    output:
        docs=f"{R}/tag/{{source}}/{{shard}}.parquet",
        stats=f"{R}/tag/{{source}}/{{shard}}.stats.json",
        cost=f"{R}/tag/{{source}}/{{shard}}.cost.json",
    log:
        f"{R}/logs/tag/{{source}}/{{shard}}.log",
    params:
        filters=lambda w: ",".join(CFG.sources[w.source].filters),
        code=code_version("curate", "ledger", "io", "cli", "config"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci tag --cfg '{{}}' --source {wildcards.source} --shard {wildcards.shard}"
        " --filters={params.filters} --input {input} --out {output.docs} --stats {output.stats} > {log} 2>&1"


rule filter:
    """Decide: thresholds from config on stored attributes; dropped documents kept per reason."""
    input:
        f"{R}/tag/{{source}}/{{shard}}.parquet",
    output:
        docs=f"{R}/filter/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/filter/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/filter/{{source}}/{{shard}}.stats.json",
        cost=f"{R}/filter/{{source}}/{{shard}}.cost.json",
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
        cost=f"{R}/pii/{{source}}/{{shard}}.cost.json",
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
