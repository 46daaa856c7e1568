rule evaluate:
    """Validation perplexity per source from the final checkpoint (a recipe's: its last stage's)."""
    input:
        blend=final_blend(),
        checkpoint=f"{R}/train/checkpoint",
    output:
        f"{R}/eval/perplexity.json",
    log:
        f"{R}/logs/evaluate.log",
    benchmark:
        bench("evaluate")
    params:
        cfg=final_cfg("seed", "model", "train", "evaluate"),
        code=verb_version("evaluate"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci evaluate --cfg {params.cfg:q} --blend {input.blend:q} --checkpoint {input.checkpoint:q}"
        " --out {output:q} > {log:q} 2>&1"


rule evaluate_checkpoints:
    """Validation perplexity per source at every checkpoint the train rule saved (the intermediate
    Pythia-schedule ones and the final one), found from the files it wrote."""
    input:
        blend=final_blend(),
        # the published copies (train.smk): `lmsci pull` restores them, so this reruns without training
        published=rules.publish_checkpoints.output,
    output:
        f"{R}/eval/checkpoints.json",
    log:
        f"{R}/logs/evaluate_checkpoints.log",
    benchmark:
        bench("evaluate_checkpoints")
    params:
        cfg=final_cfg("seed", "model", "train", "evaluate"),
        code=verb_version("evaluate-checkpoints"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci evaluate-checkpoints --cfg {params.cfg:q} --blend {input.blend:q}"
        " --train-dir {input.published:q} --out {output:q} > {log:q} 2>&1"


rule evaluate_stage:
    """A recipe stage's final checkpoint scored on every source (forgetting: the report's stages table)."""
    input:
        blend=f"{R}/train/stages/{{stage}}/blend.json",
        checkpoint=f"{R}/train/stages/{{stage}}/checkpoint",
    output:
        f"{R}/eval/stages/{{stage}}.json",
    log:
        f"{R}/logs/evaluate_stage/{{stage}}.log",
    benchmark:
        bench("evaluate_stage", "{stage}")
    params:
        cfg=stage_eval_cfg,
        code=verb_version("evaluate"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci evaluate --cfg {params.cfg:q} --blend {input.blend:q} --checkpoint {input.checkpoint:q}"
        " --out {output:q} > {log:q} 2>&1"


if STAGES:

    rule evaluate_recipe_start:
        """The recipe's starting weights (the first stage's step 0: train.init_from's, or random) scored on
        every source: the 'before' of the report's forgetting table."""
        input:
            blend=f"{R}/train/stages/{STAGES[0]}/blend.json",
            published=f"{R}/train/stages/{STAGES[0]}/published",
        output:
            f"{R}/eval/stages/start.json",
        log:
            f"{R}/logs/evaluate_recipe_start.log",
        benchmark:
            bench("evaluate_recipe_start")
        params:
            cfg=lmsci_recipe.stage_slice_json(CFG, STAGES[0], "evaluate"),
            checkpoint=f"{R}/train/stages/{STAGES[0]}/published/checkpoints/step_0000000",
            code=verb_version("evaluate"),
        threads: 2
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../envs/lmsci.yaml"
        shell:
            "python -m lmsci evaluate --cfg {params.cfg:q} --blend {input.blend:q} --checkpoint {params.checkpoint:q}"
            " --out {output:q} > {log:q} 2>&1"


rule export_hf:
    """The final checkpoint as a transformers LlamaForCausalLM (config, safetensors, tokenizer)."""
    input:
        checkpoint=f"{R}/train/checkpoint",
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        directory(f"{R}/export/hf"),
    log:
        f"{R}/logs/export_hf.log",
    benchmark:
        bench("export_hf")
    params:
        code=verb_version("export-hf"),
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci export-hf {input.checkpoint:q} {output:q} --tokenizer {input.tokenizer:q} > {log:q} 2>&1"


rule eval_tasks:
    """Local lm-eval tasks (last-word cloze, continuation choice) from the held-out documents."""
    input:
        blend=f"{R}/mix/blend.json",
        tokenizer=f"{R}/tokenizer/tokenizer.json",
    output:
        directory(f"{R}/eval/tasks"),
    log:
        f"{R}/logs/eval_tasks.log",
    benchmark:
        bench("eval_tasks")
    params:
        cfg=cfg("seed"),
        per_source=200,
        code=verb_version("eval-tasks"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci eval-tasks --cfg {params.cfg:q} --blend {input.blend:q} --tokenizer {input.tokenizer:q}"
        " --out-dir {output:q} --per-source {params.per_source:q} > {log:q} 2>&1"


rule lm_eval:
    """lm-evaluation-harness on the HF export with the local tasks (a report input)."""
    input:
        hf=f"{R}/export/hf",
        tasks=f"{R}/eval/tasks",
    output:
        f"{R}/eval/lm_eval.json",
    log:
        f"{R}/logs/lm_eval.log",
    benchmark:
        bench("lm_eval")
    params:
        limit=["--limit", CFG.evaluate.lm_eval_limit] if CFG.evaluate.lm_eval_limit else [],
        code=verb_version("lm-eval"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci lm-eval {input.hf:q} {input.tasks:q} {params.limit:q} --out {output:q} > {log:q} 2>&1"
