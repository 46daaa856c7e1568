rule train_tokenizer:
    """Byte-level BPE trained on the deduplicated corpus of every source."""
    input:
        expand(f"{R}/minhash/{{source}}/kept.parquet", source=SOURCES),
    output:
        f"{R}/tokenizer/tokenizer.json",
    log:
        f"{R}/logs/tokenizer.log",
    params:
        cfg=cfg("tokenizer"),
        code=code_version("tokenize", "io", "cli"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "RAYON_NUM_THREADS={threads} python -m lmsci train-tokenizer --cfg {params.cfg:q} --inputs {input}"
        " --out {output} > {log} 2>&1"


rule tokenize:
    """One source → Megatron train/valid .bin/.idx plus the document-id lineage table. Training documents
    sharing a decontam.ngram-gram with any source's held-out documents (or decontam.extra_paths) are
    dropped as decontam/contaminated (dropped.parquet)."""
    input:
        docs=f"{R}/minhash/{{source}}/kept.parquet",
        tokenizer=f"{R}/tokenizer/tokenizer.json",
        heldout=expand(f"{R}/minhash/{{source}}/kept.parquet", source=SOURCES) if CFG.decontam.enabled else [],
        extra=CFG.decontam.extra_paths if CFG.decontam.enabled else [],
    output:
        multiext(f"{R}/tokens/{{source}}/train", ".bin", ".idx"),
        multiext(f"{R}/tokens/{{source}}/valid", ".bin", ".idx"),
        lineage=f"{R}/tokens/{{source}}/documents.parquet",
        dropped=f"{R}/tokens/{{source}}/dropped.parquet",
        stats=f"{R}/tokens/{{source}}/stats.json",
    log:
        f"{R}/logs/tokenize/{{source}}.log",
    params:
        cfg=cfg("seed", "split", "decontam"),
        heldout=lambda w, input: f"--heldout {' '.join(input.heldout)}" if input.heldout else "",
        out_dir=lambda w, output: os.path.dirname(output.stats),
        code=code_version("tokenize", "curate.decontam", "ledger", "io", "cli"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "RAYON_NUM_THREADS={threads} python -m lmsci tokenize --cfg {params.cfg:q} --source {wildcards.source}"
        " --inputs {input.docs} {params.heldout} --tokenizer {input.tokenizer} --out-dir {params.out_dir} > {log} 2>&1"


rule mix:
    """Source weights → blend manifest (requested vs available tokens, epochs)."""
    input:
        stats=expand(f"{R}/tokens/{{source}}/stats.json", source=SOURCES),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        f"{R}/mix/blend.json",
    log:
        f"{R}/logs/mix.log",
    params:
        cfg=cfg("seed", "sources", "model", "train"),
        tokens_dir=lambda w, input: os.path.dirname(os.path.dirname(input.stats[0])),
        code=code_version("mix", "io", "cli"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci mix --cfg {params.cfg:q} --inputs {input.stats} --tokenizer {input.tokenizer}"
        " --tokens-dir {params.tokens_dir} --out {output} > {log} 2>&1"
