rule evaluate:
    """Validation perplexity per source from the final checkpoint."""
    input:
        blend=f"{R}/mix/blend.json",
        checkpoint=f"{R}/train/checkpoint",
    output:
        f"{R}/eval/perplexity.json",
    log:
        f"{R}/logs/evaluate.log",
    params:
        cfg=cfg("seed", "model", "train", "evaluate"),
        code=code_version("evaluate", "train", "cli"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci evaluate --cfg {params.cfg:q} --blend {input.blend} --checkpoint {input.checkpoint}"
        " --out {output} > {log} 2>&1"
