rule train_tokenizer:
    """Byte-level BPE trained on a seeded sample of every source's curated shards (at most
    tokenizer.sample_chars characters per source, read one shard at a time)."""
    input:
        curated_files(),
    output:
        f"{R}/tokenizer/tokenizer.json",
    log:
        f"{R}/logs/tokenizer.log",
    benchmark:
        bench("train_tokenizer")
    params:
        cfg=cfg("seed", "tokenizer"),
        code=verb_version("train-tokenizer"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "RAYON_NUM_THREADS={threads:q} python -m lmsci train-tokenizer --cfg {params.cfg:q} --inputs {input:q}"
        " --out {output:q} > {log:q} 2>&1"


rule split_fallback:
    """Per source, the documents whose train/valid split is overridden so every source has both
    splits (lmsci.tokenize.split.Fallback): a global pass over the ids, so the split is the same for
    any sharding."""
    input:
        curated_files(),
    output:
        f"{R}/heldout/split.json",
    log:
        f"{R}/logs/split_fallback.log",
    benchmark:
        bench("split_fallback")
    params:
        cfg=cfg("seed", "split"),
        code=verb_version("split-fallback"),
    resources:
        mem_mb=1000,
        runtime=15,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci split-fallback --cfg {params.cfg:q} --inputs {input:q} --out {output:q} > {log:q} 2>&1"


rule decontam_index:
    """Every source's held-out documents (+ decontam.extra_paths) → the sorted uint64 hashes of their
    decontam.ngram-grams, built once and memory-mapped by every tokenize job."""
    input:
        docs=curated_files(),
        split=rules.split_fallback.output[0],
        extra=CFG.decontam.extra_paths,
    output:
        index=f"{R}/heldout/ngrams.npy",
        meta=f"{R}/heldout/ngrams.json",
    log:
        f"{R}/logs/decontam_index.log",
    benchmark:
        bench("decontam_index")
    params:
        cfg=cfg("seed", "split", "decontam"),
        code=verb_version("decontam-index"),
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci decontam-index --cfg {params.cfg:q} --inputs {input.docs:q}"
        " --split-fallback {input.split:q} --out {output.index:q} > {log:q} 2>&1"


rule tokenize:
    """One curated shard → Megatron train/valid .bin/.idx plus the document-id lineage table. Training
    documents sharing a decontam.ngram-gram with any source's held-out documents (or
    decontam.extra_paths) are dropped as decontam/contaminated (<shard>.dropped.parquet)."""
    input:
        unpack(tokenize_inputs),
    output:
        multiext(f"{R}/tokens/{{source}}/{{shard}}/train", ".bin", ".idx"),
        multiext(f"{R}/tokens/{{source}}/{{shard}}/valid", ".bin", ".idx"),
        lineage=f"{R}/tokens/{{source}}/{{shard}}/documents.parquet",
        dropped=f"{R}/tokens/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{R}/tokens/{{source}}/{{shard}}.stats.json",
    wildcard_constraints:
        shard=r"(?!merged[/.])[^/]+",  # tokens/<source>/merged/ is the merge_tokens rule's (the lookahead
        # sees the rest of the path, so it tests what follows the name)
    log:
        f"{R}/logs/tokenize/{{source}}/{{shard}}.log",
    benchmark:
        bench("tokenize", "{source}/{shard}")
    params:
        cfg=cfg("seed", "split", "decontam"),
        index=tokenize_index_option,
        code=verb_version("tokenize"),
    threads: 1  # the encoder runs on the calling thread (lmsci.tokenize.fast); shards run in parallel
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "RAYON_NUM_THREADS={threads:q} python -m lmsci tokenize --cfg {params.cfg:q} --source {wildcards.source:q}"
        " --shard {wildcards.shard:q} --input {input.docs:q} --tokenizer {input.tokenizer:q}"
        " --split-fallback {input.split:q} {params.index:q} --out {output.lineage:q}"
        " --dropped {output.dropped:q} --stats {output.stats:q} > {log:q} 2>&1"


rule merge_tokens:
    """tokenize.merge: a source's shard datasets → one train and one valid pair (megatron's add_index)."""
    input:
        unpack(merge_inputs),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        multiext(f"{R}/tokens/{{source}}/merged/train", ".bin", ".idx"),
        multiext(f"{R}/tokens/{{source}}/merged/valid", ".bin", ".idx"),
        lineage=f"{R}/tokens/{{source}}/merged/documents.parquet",
    log:
        f"{R}/logs/merge_tokens/{{source}}.log",
    benchmark:
        bench("merge_tokens", "{source}")
    params:
        cfg=cfg("tokenize"),
        code=verb_version("merge-tokens"),
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci merge-tokens --cfg {params.cfg:q} --inputs {input.lineage:q} --tokenizer {input.tokenizer:q}"
        " --out {output.lineage:q} > {log:q} 2>&1"


rule mix:
    """Source weights → blend manifest: every shard's (or merged) prefix weighted by its train tokens ×
    the source weight / the source's train tokens; requested vs available tokens, epochs."""
    input:
        stats=token_ledgers(),
        tokens=token_files(),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        f"{R}/mix/blend.json",
    log:
        f"{R}/logs/mix.log",
    benchmark:
        bench("mix")
    params:
        cfg=cfg("seed", "sources", "model", "train", "tokenize"),
        code=verb_version("mix"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci mix --cfg {params.cfg:q} --inputs {input.stats:q} --tokenizer {input.tokenizer:q}"
        " --out {output:q} > {log:q} 2>&1"
