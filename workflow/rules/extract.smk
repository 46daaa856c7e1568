rule extract:
    """WARC records (or JSONL lines) → documents, one shard per job; every other record a dropped
    row with its reason, WARC file and byte offset."""
    input:
        extract_input,
    output:
        docs=f"{R}/extract/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/extract/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/extract/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/extract/{{source}}/{{shard}}.log",
    benchmark:
        bench("extract", "{source}/{shard}")
    params:
        cfg=cfg("extract"),
        kind=source_kind,
        path=shard_path,
        code=verb_version("extract"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci extract --cfg {params.cfg:q} --source {wildcards.source:q} --kind {params.kind:q}"
        " --input {params.path:q} --out {output.docs:q} --dropped {output.dropped:q} --stats {output.stats:q}"
        " > {log:q} 2>&1"
