rule dedup_exact:
    """Exact dedup over all shards of a source (first document by id kept)."""
    input:
        lambda w: per_shard("{R}/filter/{source}/{shard}.parquet", w.source),
    output:
        docs=f"{R}/dedup/{{source}}/kept.parquet",
        dropped=f"{R}/dedup/{{source}}/dropped.parquet",
        stats=f"{R}/dedup/{{source}}/stats.json",
        cost=f"{R}/dedup/{{source}}/cost.json",
    log:
        f"{R}/logs/dedup/{{source}}.log",
    params:
        cfg=cfg("dedup"),
        code=code_version("dedup", "ledger", "io", "cli"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-exact --cfg {params.cfg:q} --source {wildcards.source} --inputs {input}"
        " --out {output.docs} --dropped {output.dropped} --stats {output.stats} > {log} 2>&1"
