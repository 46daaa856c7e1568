# The dedup plane, sharded end to end (lmsci.dedup): no job reads a whole source's documents.
# Exact:   pii shard → hashes/{shard} → groups/bucket-BBB (one job per hash range) → {shard} kept/dropped.
# MinHash: exact-kept shard → signatures/{shard} → buckets/band-NNN (one job per band) → clusters → {shard}.


rule dedup_exact_hashes:
    """Normalised-text hash (160-bit SHA-1) and id of every document of a shard, sorted, by hash range."""
    input:
        f"{R}/pii/{{source}}/{{shard}}.parquet",
    output:
        f"{R}/dedup/{{source}}/hashes/{{shard}}.parquet",
    log:
        f"{R}/logs/dedup/hashes/{{source}}/{{shard}}.log",
    benchmark:
        bench("dedup_exact_hashes", "{source}/{shard}")
    params:
        cfg=cfg("dedup"),
        code=verb_version("dedup-hashes"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-hashes --cfg {params.cfg:q} --input {input:q} --out {output:q} > {log:q} 2>&1"


rule dedup_exact_groups:
    """One hash range over every shard's hashes: duplicate groups, the lowest document id kept."""
    input:
        dedup_files("hashes"),
    output:
        f"{R}/dedup/{{source}}/groups/bucket-{{bucket}}.parquet",
    wildcard_constraints:
        bucket=r"\d{3}",
    log:
        f"{R}/logs/dedup/groups/{{source}}/bucket-{{bucket}}.log",
    benchmark:
        bench("dedup_exact_groups", "{source}/bucket-{bucket}")
    params:
        cfg=cfg("dedup"),
        code=verb_version("dedup-groups"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-groups --cfg {params.cfg:q} --inputs {input:q} --bucket {wildcards.bucket:q}"
        " --out {output:q} > {log:q} 2>&1"


rule dedup_exact:
    """Exact dedup's keep-list applied to one shard: duplicates dropped with dup_of (the group's lowest id)."""
    input:
        docs=f"{R}/pii/{{source}}/{{shard}}.parquet",
        groups=dedup_files("groups"),
    output:
        docs=f"{R}/dedup/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/dedup/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/dedup/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/dedup/{{source}}/{{shard}}.log",
    benchmark:
        bench("dedup_exact", "{source}/{shard}")
    params:
        cfg=cfg("dedup"),
        code=verb_version("dedup-exact"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-exact --cfg {params.cfg:q} --source {wildcards.source:q} --shard {wildcards.shard:q}"
        " --input {input.docs:q} --groups {input.groups:q} --out {output.docs:q} --dropped {output.dropped:q}"
        " --stats {output.stats:q} > {log:q} 2>&1"


rule minhash_signatures:
    """MinHash signatures and per-band bucket keys of one shard's exact-dedup survivors (so roots are kept)."""
    input:
        f"{R}/dedup/{{source}}/{{shard}}.parquet",
    output:
        f"{R}/minhash/{{source}}/signatures/{{shard}}.parquet",
    log:
        f"{R}/logs/minhash/signatures/{{source}}/{{shard}}.log",
    benchmark:
        bench("minhash_signatures", "{source}/{shard}")
    params:
        cfg=cfg("minhash"),
        code=verb_version("minhash-signatures"),
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci minhash-signatures --cfg {params.cfg:q} --input {input:q} --out {output:q} > {log:q} 2>&1"


rule minhash_buckets:
    """LSH, one job per band: documents sharing the band's bucket and agreeing on >= minhash.threshold → edges.
    Reads each document's band key and id, and whole signatures only of documents that share a bucket."""
    input:
        dedup_files("signatures"),
    output:
        f"{R}/minhash/{{source}}/buckets/band-{{band}}.parquet",
    wildcard_constraints:
        band=r"\d{3}",
    log:
        f"{R}/logs/minhash/buckets/{{source}}/band-{{band}}.log",
    benchmark:
        bench("minhash_buckets", "{source}/band-{band}")
    params:
        cfg=cfg("minhash"),
        code=verb_version("minhash-buckets"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci minhash-buckets --cfg {params.cfg:q} --inputs {input:q} --bands {wildcards.band:q}"
        " --out {output:q} > {log:q} 2>&1"


rule minhash_clusters:
    """Union-find over every band's edges (integer keys, memory ∝ edges): each cluster's root is its lowest id."""
    input:
        dedup_files("bands"),
    output:
        f"{R}/minhash/{{source}}/clusters.parquet",
    log:
        f"{R}/logs/minhash/clusters/{{source}}.log",
    benchmark:
        bench("minhash_clusters", "{source}")
    params:
        cfg=cfg("minhash"),
        code=verb_version("minhash-clusters"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci minhash-clusters --cfg {params.cfg:q} --edges {input:q} --out {output:q} > {log:q} 2>&1"


rule dedup_minhash:
    """MinHash keep-list applied to one shard: near duplicates dropped with dup_of (the cluster's root)."""
    input:
        docs=f"{R}/dedup/{{source}}/{{shard}}.parquet",
        clusters=f"{R}/minhash/{{source}}/clusters.parquet",
    output:
        docs=f"{R}/minhash/{{source}}/{{shard}}.parquet",
        dropped=f"{R}/minhash/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/minhash/{{source}}/{{shard}}.stats.json",
    log:
        f"{R}/logs/minhash/{{source}}/{{shard}}.log",
    benchmark:
        bench("dedup_minhash", "{source}/{shard}")
    params:
        cfg=cfg("minhash"),
        code=verb_version("dedup-minhash"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci dedup-minhash --cfg {params.cfg:q} --source {wildcards.source:q} --shard {wildcards.shard:q}"
        " --input {input.docs:q} --clusters {input.clusters:q} --out {output.docs:q} --dropped {output.dropped:q}"
        " --stats {output.stats:q} > {log:q} 2>&1"
