# Data ablations (`snakemake ablation`; configs/ablation.yaml, issue 13): per variant × seed one
# curate → tokens → train → evaluate chain under results/ablation/<variant>/, each stage the run's own rule
# (`use rule ... with:` new paths and the variant's config slice) where the variant changes it, the
# baseline's file where it does not (lmsci.ablation.plan). Not part of `all`. Input logic: lmsci.ablation.wiring.
import functools

from lmsci.ablation import plan as ablation_plan, variants as ablation_variants, wiring as AW

ABLATION = ablation_variants.names(CFG)
if not ABLATION and "ablation" in sys.argv[1:]:  # the target named on the command line: say why it is empty
    sys.exit("lmsci: config error: config key 'ablation': no ablation configured (ablation.variants, "
             "ablation.seeds); run: snakemake ablation --configfile config.yaml configs/ablation.yaml")
AB = AW.base(CFG)
ABENCH = functools.partial(AW.bench, CFG)
ablation_targets = functools.partial(AW.targets, CFG)  # the Snakefile's


wildcard_constraints:
    variant="|".join(ABLATION) or "(?!)",
    seed=r"\d+",


use rule train_quality as ablation_train_quality with:
    input:
        unpack(functools.partial(AW.quality_inputs, CFG)),
    output:
        model=f"{AB}/{{variant}}/data/quality/model.bin",
        meta=f"{AB}/{{variant}}/data/quality/model.json",
    log:
        f"{AB}/logs/{{variant}}/quality.log",
    benchmark:
        ABENCH("ablation_train_quality", "{variant}")
    params:
        cfg=AW.slice_of(CFG, "seed", "quality"),


use rule tag as ablation_tag with:
    input:
        unpack(functools.partial(AW.tag_inputs, CFG)),
    output:
        docs=f"{AW.data(CFG, 'tag')}/{{source}}/{{shard}}.parquet",
        dropped=f"{AW.data(CFG, 'tag')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'tag')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/tag/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_tag", "{variant}/{source}/{shard}")
    params:
        cfg=functools.partial(AW.measure_cfg, CFG),
        filters=functools.partial(AW.filter_list, CFG),


use rule filter as ablation_filter with:
    input:
        AW.upstream(CFG, "tag", "tag/{source}/{shard}.parquet"),
    output:
        docs=f"{AW.data(CFG, 'filter')}/{{source}}/{{shard}}.parquet",
        dropped=f"{AW.data(CFG, 'filter')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'filter')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/filter/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_filter", "{variant}/{source}/{shard}")
    params:
        cfg=functools.partial(AW.filters_cfg, CFG),
        filters=functools.partial(AW.filter_list, CFG),


use rule pii as ablation_pii with:
    input:
        AW.upstream(CFG, "filter", "filter/{source}/{shard}.parquet"),
    output:
        docs=f"{AW.data(CFG, 'pii')}/{{source}}/{{shard}}.parquet",
        dropped=f"{AW.data(CFG, 'pii')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'pii')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/pii/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_pii", "{variant}/{source}/{shard}")
    params:
        cfg=AW.slice_of(CFG, "pii"),


use rule dedup_exact_hashes as ablation_dedup_exact_hashes with:
    input:
        AW.upstream(CFG, "pii", "pii/{source}/{shard}.parquet"),
    output:
        f"{AW.data(CFG, 'dedup')}/{{source}}/hashes/{{shard}}.parquet",
    log:
        f"{AB}/logs/{{variant}}/dedup/hashes/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_dedup_exact_hashes", "{variant}/{source}/{shard}")
    params:
        cfg=AW.slice_of(CFG, "dedup"),


use rule dedup_exact_groups as ablation_dedup_exact_groups with:
    input:
        AW.own_list(CFG, "hashes"),
    output:
        f"{AW.data(CFG, 'dedup')}/{{source}}/groups/bucket-{{bucket}}.parquet",
    log:
        f"{AB}/logs/{{variant}}/dedup/groups/{{source}}/bucket-{{bucket}}.log",
    benchmark:
        ABENCH("ablation_dedup_exact_groups", "{variant}/{source}/bucket-{bucket}")
    params:
        cfg=AW.slice_of(CFG, "dedup"),


use rule dedup_exact as ablation_dedup_exact with:
    input:
        docs=AW.upstream(CFG, "pii", "pii/{source}/{shard}.parquet"),
        groups=AW.own_list(CFG, "groups"),
    output:
        docs=f"{AW.data(CFG, 'dedup')}/{{source}}/{{shard}}.parquet",
        dropped=f"{AW.data(CFG, 'dedup')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'dedup')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/dedup/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_dedup_exact", "{variant}/{source}/{shard}")
    params:
        cfg=AW.slice_of(CFG, "dedup"),


use rule minhash_signatures as ablation_minhash_signatures with:
    input:
        AW.upstream(CFG, "dedup", "dedup/{source}/{shard}.parquet"),
    output:
        f"{AW.data(CFG, 'minhash')}/{{source}}/signatures/{{shard}}.parquet",
    log:
        f"{AB}/logs/{{variant}}/minhash/signatures/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_minhash_signatures", "{variant}/{source}/{shard}")
    params:
        cfg=AW.slice_of(CFG, "minhash"),


use rule minhash_buckets as ablation_minhash_buckets with:
    input:
        AW.own_list(CFG, "signatures"),
    output:
        f"{AW.data(CFG, 'minhash')}/{{source}}/buckets/band-{{band}}.parquet",
    log:
        f"{AB}/logs/{{variant}}/minhash/buckets/{{source}}/band-{{band}}.log",
    benchmark:
        ABENCH("ablation_minhash_buckets", "{variant}/{source}/band-{band}")
    params:
        cfg=AW.slice_of(CFG, "minhash"),


use rule minhash_clusters as ablation_minhash_clusters with:
    input:
        AW.own_list(CFG, "bands"),
    output:
        f"{AW.data(CFG, 'minhash')}/{{source}}/clusters.parquet",
    log:
        f"{AB}/logs/{{variant}}/minhash/clusters/{{source}}.log",
    benchmark:
        ABENCH("ablation_minhash_clusters", "{variant}/{source}")
    params:
        cfg=AW.slice_of(CFG, "minhash"),


use rule dedup_minhash as ablation_dedup_minhash with:
    input:
        docs=AW.upstream(CFG, "dedup", "dedup/{source}/{shard}.parquet"),
        clusters=f"{AW.data(CFG, 'minhash')}/{{source}}/clusters.parquet",
    output:
        docs=f"{AW.data(CFG, 'minhash')}/{{source}}/{{shard}}.parquet",
        dropped=f"{AW.data(CFG, 'minhash')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'minhash')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/minhash/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_dedup_minhash", "{variant}/{source}/{shard}")
    params:
        cfg=AW.slice_of(CFG, "minhash"),


rule ablation_evalset:
    """The fixed evaluation set: documents held out of the shared extraction by a seeded hash of their id
    (before any filter), tokenized with the run's tokenizer, plus their decontamination n-grams."""
    input:
        docs=AW.extracted(CFG),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        docs=f"{AB}/eval/documents.parquet",
        blend=f"{AB}/eval/blend.json",
        tokens=AW.eval_tokens(CFG),
        index=[f"{AB}/eval/ngrams.npy", f"{AB}/eval/ngrams.json"] if CFG.decontam.enabled else [],
    log:
        f"{AB}/logs/evalset.log",
    benchmark:
        ABENCH("ablation_evalset")
    params:
        cfg=cfg("seed", "model", "decontam"),
        fraction=CFG.ablation.eval_fraction,
        max_documents=CFG.ablation.eval_max_documents,
        document_tokens=CFG.ablation.eval_document_tokens,
        out_dir=lambda w, output: os.path.dirname(output.docs),
        code=verb_version("ablation-evalset"),
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci ablation-evalset --cfg {params.cfg:q} --inputs {input.docs:q} --tokenizer {input.tokenizer:q}"
        " --fraction {params.fraction:q} --max-documents {params.max_documents:q}"
        " --document-tokens {params.document_tokens:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"


use rule eval_tasks as ablation_eval_tasks with:
    input:
        blend=f"{AB}/eval/blend.json",
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        directory(f"{AB}/eval/tasks"),
    log:
        f"{AB}/logs/eval_tasks.log",
    benchmark:
        ABENCH("ablation_eval_tasks")


rule ablation_tokenize:
    """A variant's curated shard minus the evaluation set (by id, and by shared n-grams) → train .bin/.idx."""
    input:
        unpack(functools.partial(AW.tokenize_inputs, CFG)),
    output:
        multiext(f"{AW.data(CFG, 'tokens')}/{{source}}/{{shard}}/train", ".bin", ".idx"),
        multiext(f"{AW.data(CFG, 'tokens')}/{{source}}/{{shard}}/valid", ".bin", ".idx"),
        lineage=f"{AW.data(CFG, 'tokens')}/{{source}}/{{shard}}/documents.parquet",
        dropped=f"{AW.data(CFG, 'tokens')}/{{source}}/{{shard}}.dropped.parquet",
        stats=f"{AW.data(CFG, 'tokens')}/{{source}}/{{shard}}.stats.json",
    log:
        f"{AB}/logs/{{variant}}/tokenize/{{source}}/{{shard}}.log",
    benchmark:
        ABENCH("ablation_tokenize", "{variant}/{source}/{shard}")
    params:
        cfg=cfg("seed", "decontam"),
        index=tokenize_index_option,
        code=verb_version("ablation-tokenize"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "RAYON_NUM_THREADS={threads:q} python -m lmsci ablation-tokenize --cfg {params.cfg:q}"
        " --source {wildcards.source:q} --shard {wildcards.shard:q} --input {input.docs:q}"
        " --tokenizer {input.tokenizer:q} --heldout {input.heldout:q} {params.index:q} --out {output.lineage:q}"
        " --dropped {output.dropped:q} --stats {output.stats:q} > {log:q} 2>&1"


rule ablation_mix:
    """A variant's source weights over its token shards (each from the variant that made it) → its blend;
    the blend's validation data is the evaluation set."""
    input:
        unpack(functools.partial(AW.mix_inputs, CFG)),
    output:
        f"{AW.data(CFG, 'mix')}/blend.json",
    log:
        f"{AB}/logs/{{variant}}/mix.log",
    benchmark:
        ABENCH("ablation_mix", "{variant}")
    params:
        cfg=AW.slice_of(CFG, "seed", "sources", "model", "train", "tokenize"),
        code=verb_version("ablation-mix"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci ablation-mix --cfg {params.cfg:q} --inputs {input.stats:q} --tokenizer {input.tokenizer:q}"
        " --eval-blend {input.eval_blend:q} --out {output:q} > {log:q} 2>&1"


use rule train_model as ablation_train with:
    input:
        unpack(functools.partial(AW.train_inputs, CFG)),
    output:
        summary=f"{AB}/{{variant}}/{{seed}}/train/train_summary.json",
        metrics=f"{AB}/{{variant}}/{{seed}}/train/metrics.jsonl",
        metrics_csv=f"{AB}/{{variant}}/{{seed}}/train/metrics.csv",
        checkpoint=directory(f"{AB}/{{variant}}/{{seed}}/train/checkpoint"),
    log:
        f"{AB}/logs/{{variant}}/{{seed}}/train.log",
    benchmark:
        ABENCH("ablation_train", "{variant}/{seed}")
    params:
        cfg=AW.run_slice(CFG, "seed", "model", "train"),


rule ablation_score:
    """Per-document loss of one run on the evaluation set (the paired bootstrap's unit)."""
    input:
        checkpoint=f"{AB}/{{variant}}/{{seed}}/train/checkpoint",
        blend=f"{AB}/eval/blend.json",
        docs=f"{AB}/eval/documents.parquet",
        tokens=AW.eval_tokens(CFG),
    output:
        f"{AB}/{{variant}}/{{seed}}/scores.parquet",
    log:
        f"{AB}/logs/{{variant}}/{{seed}}/score.log",
    benchmark:
        ABENCH("ablation_score", "{variant}/{seed}")
    params:
        cfg=AW.run_slice(CFG, "model", "train"),
        code=verb_version("ablation-score"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci ablation-score --cfg {params.cfg:q} --checkpoint {input.checkpoint:q}"
        " --eval-blend {input.blend:q} --documents {input.docs:q} --out {output:q} > {log:q} 2>&1"


use rule export_hf as ablation_export_hf with:
    input:
        checkpoint=f"{AB}/{{variant}}/{{seed}}/train/checkpoint",
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        directory(f"{AB}/{{variant}}/{{seed}}/export/hf"),
    log:
        f"{AB}/logs/{{variant}}/{{seed}}/export_hf.log",
    benchmark:
        ABENCH("ablation_export_hf", "{variant}/{seed}")


use rule lm_eval as ablation_lm_eval with:
    input:
        hf=f"{AB}/{{variant}}/{{seed}}/export/hf",
        tasks=f"{AB}/eval/tasks",
    output:
        f"{AB}/{{variant}}/{{seed}}/lm_eval.json",
    log:
        f"{AB}/logs/{{variant}}/{{seed}}/lm_eval.log",
    benchmark:
        ABENCH("ablation_lm_eval", "{variant}/{seed}")


rule ablation_report:
    """Funnel per variant, loss per source with the seed spread, Δ to the baseline with a paired-bootstrap CI
    and a verdict, lm-eval scores, loss curves, cost per variant, provenance → reports/ablation/."""
    input:
        **AW.report_inputs(CFG),
    output:
        md=f"{AW.REPORT_DIR}/report.md",
        html=f"{AW.REPORT_DIR}/report.html",
        loss=f"{AW.REPORT_DIR}/loss.png",
        answer=f"{AW.REPORT_DIR}/ablation.json",
        provenance=f"{AW.REPORT_DIR}/provenance.json",
    log:
        f"{AB}/logs/report.log",
    benchmark:
        ABENCH("ablation_report")
    params:
        configs=list(dict.fromkeys(os.path.relpath(p, workflow.basedir) for p in workflow.configfiles))
        or ["config.yaml"],
        out_dir=lambda w, output: os.path.dirname(output.md),
        code=verb_version("ablation-report"),
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci ablation-report --config-files {params.configs:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"
