rule dedup_exact:
    """Exact dedup over all shards of a source (first document by id kept)."""
    input:
        lambda w: per_shard("{R}/pii/{source}/{shard}.parquet", w.source),
    output:
        docs=f"{R}/dedup/{{source}}/kept.parquet",
        dropped=f"{R}/dedup/{{source}}/dropped.parquet",
        stats=f"{R}/dedup/{{source}}/stats.json",
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


rule minhash_signatures:
    """MinHash signatures of one shard's documents (the input of exact dedup, so roots agree)."""
    input:
        f"{R}/pii/{{source}}/{{shard}}.parquet",
    output:
        f"{R}/minhash/{{source}}/signatures/{{shard}}.parquet",
    log:
        f"{R}/logs/minhash/signatures/{{source}}/{{shard}}.log",
    params:
        cfg=cfg("minhash"),
        code=code_version("dedup", "io", "cli"),
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci minhash-signatures --cfg {params.cfg:q} --input {input} --out {output} > {log} 2>&1"


rule minhash_buckets:
    """LSH, one job per band: documents sharing the band's bucket and agreeing on >= minhash.threshold → edges."""
    input:
        lambda w: per_shard("{R}/minhash/{source}/signatures/{shard}.parquet", w.source),
    output:
        f"{R}/minhash/{{source}}/buckets/band-{{band}}.parquet",
    wildcard_constraints:
        band=r"\d{3}",
    log:
        f"{R}/logs/minhash/buckets/{{source}}/band-{{band}}.log",
    params:
        cfg=cfg("minhash"),
        out_dir=lambda w, output: os.path.dirname(output[0]),
        code=code_version("dedup", "io", "cli"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci minhash-buckets --cfg {params.cfg:q} --inputs {input} --bands {wildcards.band}"
        " --out-dir {params.out_dir} > {log} 2>&1"


rule dedup_minhash:
    """Union-find over the bands' edges; keep each cluster's lowest id among exact dedup's survivors."""
    input:
        docs=f"{R}/dedup/{{source}}/kept.parquet",
        edges=lambda w: band_files(w.source),
    output:
        docs=f"{R}/minhash/{{source}}/kept.parquet",
        dropped=f"{R}/minhash/{{source}}/dropped.parquet",
        clusters=f"{R}/minhash/{{source}}/clusters.parquet",
        stats=f"{R}/minhash/{{source}}/stats.json",
    log:
        f"{R}/logs/minhash/{{source}}.log",
    params:
        cfg=cfg("minhash"),
        code=code_version("dedup", "ledger", "io", "cli"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-minhash --cfg {params.cfg:q} --source {wildcards.source} --inputs {input.docs}"
        " --edges {input.edges} --clusters {output.clusters} --out {output.docs} --dropped {output.dropped}"
        " --stats {output.stats} > {log} 2>&1"
