rule extract:
    """WARC records (or JSONL lines) → documents, one shard per job."""
    input:
        lambda w: SHARD_PATHS[w.source][w.shard],
    output:
        docs=f"{R}/extract/{{source}}/{{shard}}.parquet",
        stats=f"{R}/extract/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/extract/{{source}}/{{shard}}.log",
    params:
        cfg=lambda w: cfg("extract"),
        kind=lambda w: CFG.sources[w.source].kind,
        code=code_version("crawl", "ledger", "io", "cli", "config"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci extract --cfg {params.cfg:q} --source {wildcards.source} --kind {params.kind}"
        " --input {input} --out {output.docs} --stats {output.stats} > {log} 2>&1"
