# The scaling-law sweep (`snakemake sweep`; configs/sweep.yaml): one train + evaluate per
# sweep.models × sweep.tokens on the run's own blend, then `lmsci scaling-fit`. Not part of `all`.
import functools

from lmsci.scaling.grid import run_slice, runs as sweep_runs, targets as sweep_fit_targets

SWEEP_RUNS = sweep_runs(CFG.sweep)
if not SWEEP_RUNS and "sweep" in sys.argv[1:]:  # the target named on the command line: say why it is empty
    sys.exit("lmsci: config error: config key 'sweep': no sweep configured (sweep.models, sweep.tokens); "
             "run: snakemake sweep --configfile config.yaml configs/sweep.yaml")


wildcard_constraints:
    size="|".join(m.name for m in CFG.sweep.models) or "(?!)",
    budget=r"\d+",


sweep_targets = functools.partial(sweep_fit_targets, R, CFG.sweep)  # the Snakefile's and report.smk's


rule sweep_train:
    """One sweep run: `lmsci train` with the run's shape and steps (only the final checkpoint)."""
    input:
        blend=f"{R}/mix/blend.json",
        tokens=token_files(),
    output:
        directory(f"{R}/sweep/{{size}}/{{budget}}/train"),
    log:
        f"{R}/logs/sweep/{{size}}-{{budget}}.train.log",
    benchmark:
        bench("sweep_train", "{size}/{budget}")
    params:
        cfg=lambda w: run_slice(CFG, w.size, w.budget, "seed", "model", "train"),
        code=verb_version("train"),  # the run's own model and train are in cfg
    threads: max(2, CFG.train.world_size)
    resources:
        mem_mb=4000,
        runtime=60,
        tasks=1,
        cpus_per_task=max(2, CFG.train.world_size),
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci train --cfg {params.cfg:q} --blend {input.blend:q} --out-dir {output:q} > {log:q} 2>&1"


rule sweep_evaluate:
    """Validation loss of one sweep run: `lmsci evaluate` on its final checkpoint."""
    input:
        blend=f"{R}/mix/blend.json",
        run=f"{R}/sweep/{{size}}/{{budget}}/train",
    output:
        f"{R}/sweep/{{size}}/{{budget}}/perplexity.json",
    log:
        f"{R}/logs/sweep/{{size}}-{{budget}}.evaluate.log",
    benchmark:
        bench("sweep_evaluate", "{size}/{budget}")
    params:
        cfg=lambda w: run_slice(CFG, w.size, w.budget, "seed", "model", "train", "evaluate"),
        checkpoint=lambda w, input: os.path.join(input.run, "checkpoint"),
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


rule scaling_fit:
    """L(N, D) = E + A/N^α + B/D^β (Chinchilla approaches 3 and 2), bootstrap CIs, compute-optimal N, D."""
    input:
        [f"{R}/sweep/{size}/{budget}/perplexity.json" for size, budget in SWEEP_RUNS],
    output:
        json=f"{R}/scaling/fit.json",
        png=f"{R}/scaling/fit.png",
    log:
        f"{R}/logs/scaling_fit.log",
    benchmark:
        bench("scaling_fit")
    params:
        cfg=cfg("seed", "model", "sweep"),
        runs=[f"{size}/{budget}" for size, budget in SWEEP_RUNS],
        out_dir=lambda w, output: os.path.dirname(output.json),
        code=verb_version("scaling-fit"),
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci scaling-fit --cfg {params.cfg:q} --runs {params.runs:q} --inputs {input:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"
