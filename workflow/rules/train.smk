# Recipes (train.stages, issue 12): one mix_stage / train_stage / publish_stage / evaluate_stage job per
# stage under <results>/train/stages/<name>/ (its blend.json beside its checkpoints: not inside DVC's
# results/mix out) and <results>/eval/stages/, each stage trained from the previous one's final
# checkpoint; recipe_train then writes the stages as one run's outputs (<results>/train/metrics.jsonl,
# train_summary.json, stages.json, checkpoint/), so evaluation, export, DVC and the report read the same
# paths with or without stages. Without stages train_model trains the run, as before.
include: "stages.smk"  # the recipe's input functions (lint: no functions beside rules)


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


rule mix_stage:
    """A recipe stage's blend manifest: the same token files, the stage's weights and seq_length."""
    input:
        stats=token_ledgers(),
        tokens=token_files(),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        f"{R}/train/stages/{{stage}}/blend.json",
    log:
        f"{R}/logs/mix_stage/{{stage}}.log",
    benchmark:
        bench("mix_stage", "{stage}")
    params:
        cfg=stage_mix_cfg,
        code=verb_version("mix"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci mix --cfg {params.cfg:q} --inputs {input.stats:q} --tokenizer {input.tokenizer:q}"
        " --stage {wildcards.stage:q} --out {output:q} > {log:q} 2>&1"


rule train_stage:
    """One recipe stage: its schedule, mix, seq_length and RoPE, from the previous stage's final checkpoint."""
    input:
        unpack(stage_inputs),
    output:
        summary=f"{R}/train/stages/{{stage}}/train_summary.json",
        metrics=f"{R}/train/stages/{{stage}}/metrics.jsonl",
        metrics_csv=f"{R}/train/stages/{{stage}}/metrics.csv",
        checkpoint=directory(f"{R}/train/stages/{{stage}}/checkpoint"),
    log:
        f"{R}/logs/train_stage/{{stage}}.log",
    benchmark:
        bench("train_stage", "{stage}")
    params:
        cfg=stage_cfg,
        out_dir=stage_out_dir,
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


rule publish_stage:
    """A stage's complete checkpoints as a declared output (DVC outs per stage; lmsci/train/publish.py)."""
    input:
        summary=f"{R}/train/stages/{{stage}}/train_summary.json",
        checkpoint=f"{R}/train/stages/{{stage}}/checkpoint",
    output:
        directory(f"{R}/train/stages/{{stage}}/published"),
    log:
        f"{R}/logs/publish_stage/{{stage}}.log",
    benchmark:
        bench("publish_stage", "{stage}")
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


if STAGES:

    ruleorder: recipe_train > train_model  # a recipe's <results>/train/ is its stages combined

    rule recipe_train:
        """The stages as one run's outputs: metrics over the whole recipe, summary, stages.json, final checkpoint."""
        input:
            summaries=[f"{stage_dir(s)}/train_summary.json" for s in STAGES],
            checkpoints=[f"{stage_dir(s)}/checkpoint" for s in STAGES],
            blends=[f"{R}/train/stages/{s}/blend.json" for s in STAGES],
        output:
            summary=f"{R}/train/train_summary.json",
            metrics=f"{R}/train/metrics.jsonl",
            metrics_csv=f"{R}/train/metrics.csv",
            stages=f"{R}/train/stages.json",
            checkpoint=directory(f"{R}/train/checkpoint"),
        log:
            f"{R}/logs/recipe_train.log",
        benchmark:
            bench("recipe_train")
        params:
            cfg=cfg("train"),
            stages_dir=f"{R}/train/stages",
            out_dir=f"{R}/train",
            code=verb_version("recipe"),
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/lmsci.yaml"
        shell:
            "python -m lmsci recipe --cfg {params.cfg:q} --stages-dir {params.stages_dir:q}"
            " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule publish_checkpoints:
    """The finished run's complete checkpoints (Pythia schedule + final) as a declared output, for
    DVC, verify and the per-checkpoint evaluation; train_model cannot declare checkpoints/ (resume
    needs them: lmsci/train/publish.py)."""
    input:
        unpack(final_train_outputs),
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
