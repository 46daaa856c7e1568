rule train_model:
    """megatron-core GPTModel on the blend; torchrun when the layout needs several processes."""
    input:
        blend=f"{R}/mix/blend.json",
        tokens=expand(f"{R}/tokens/{{source}}/{{split}}.{{ext}}", source=SOURCES, split=["train", "valid"],
                      ext=["bin", "idx"]),
    output:
        summary=f"{R}/train/train_summary.json",
        metrics=f"{R}/train/metrics.jsonl",
        metrics_csv=f"{R}/train/metrics.csv",
        checkpoint=directory(f"{R}/train/checkpoint"),
    log:
        f"{R}/logs/train.log",
    params:
        cfg=cfg("seed", "model", "train"),
        out_dir=lambda w, output: os.path.dirname(output.summary),
        code=code_version("train", "config", "cli"),
    threads: max(2, CFG.train.world_size)
    resources:
        mem_mb=8000,
        runtime=120,
        tasks=1,
        cpus_per_task=max(2, CFG.train.world_size),
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci train --cfg {params.cfg:q} --blend {input.blend} --out-dir {params.out_dir} > {log} 2>&1"
