# SLURM: train.nodes nodes of train.gpus_per_node GPUs; lmsci.train.launch runs one torchrun per node.
# One node is an ordinary job step; several are an "mpi" job (the command calls srun itself, one
# task per node), so snakemake's jobstep executor does not wrap it in `srun -n1`.
TRAIN_RANKS_PER_NODE = CFG.train.world_size // CFG.train.nodes
TRAIN_SLURM = (
    {"mpi": "srun", "tasks": CFG.train.nodes} if CFG.train.nodes > 1 else {"tasks": 1}
) | ({"gres": f"gpu:{CFG.train.gpus_per_node}", "tasks_per_gpu": 0} if CFG.train.gpus_per_node else {})
if CFG.train.gpus_per_node and CFG.train.nodes == 1:
    TRAIN_SLURM["gpus"] = CFG.train.gpus_per_node  # the jobstep's `srun -n1 --gpus=N`


rule train_model:
    """megatron-core GPTModel on the blend; torchrun when the layout needs several processes."""
    input:
        blend=f"{R}/mix/blend.json",
        tokens=token_files(),
    output:
        summary=f"{R}/train/train_summary.json",
        metrics=f"{R}/train/metrics.jsonl",
        metrics_csv=f"{R}/train/metrics.csv",
        checkpoint=directory(f"{R}/train/checkpoint"),
    log:
        f"{R}/logs/train.log",
    benchmark:
        bench("train_model")
    params:
        cfg=cfg("seed", "model", "train"),
        out_dir=lambda w, output: os.path.dirname(output.summary),
        code=verb_version("train"),
    threads: max(2, TRAIN_RANKS_PER_NODE)
    resources:
        mem_mb=8000,
        runtime=120,
        nodes=CFG.train.nodes,
        cpus_per_task=max(2, TRAIN_RANKS_PER_NODE),
        **TRAIN_SLURM,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci train --cfg {params.cfg:q} --blend {input.blend:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule publish_checkpoints:
    """The finished run's complete checkpoints (Pythia schedule + final) as a declared output, for
    DVC, verify and the per-checkpoint evaluation; train_model cannot declare checkpoints/ (resume
    needs them: lmsci/train/publish.py)."""
    input:
        **rules.train_model.output,
    output:
        directory(f"{R}/train/published"),
    log:
        f"{R}/logs/publish_checkpoints.log",
    benchmark:
        bench("publish_checkpoints")
    params:
        train_dir=train_dir,
        code=verb_version("publish-checkpoints"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci publish-checkpoints --train-dir {params.train_dir:q} --out-dir {output:q} > {log:q} 2>&1"
