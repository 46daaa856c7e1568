from lmsci.crawl.remote import is_url


def shard_path(wildcards):
    """The shard's path or URL, as the config lists it."""
    return SHARD_PATHS[wildcards.source][wildcards.shard]


def extract_input(wildcards):
    """A local shard is the job's input file; a URL (s3://, gs://, https://) is no local file, so the
    job has none and reads the stream itself (lmsci.crawl.remote)."""
    path = shard_path(wildcards)
    return [] if is_url(path) else [path]


def source_kind(wildcards):
    return CFG.sources[wildcards.source].kind


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
