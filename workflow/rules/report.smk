from lmsci.report import wiring as report_wiring


rule build_report:
    """Provenance, funnel (documents, characters, tokens), dropped samples, mix, training curves,
    perplexity per checkpoint, scaling fit → reports/<run>/report.{md,html}."""
    input:
        stats=ledger_files(),
        # every rule's `dropped` output, so a curation stage added later is an input too
        dropped=lambda w: report_wiring.dropped_files(workflow.rules, {s: shards(s) for s in SOURCES}),
        tokenizer=f"{R}/tokenizer/tokenizer.json",
        blend=f"{R}/mix/blend.json",
        summary=f"{R}/train/train_summary.json",
        metrics=f"{R}/train/metrics.jsonl",
        perplexity=f"{R}/eval/perplexity.json",
        checkpoints=f"{R}/eval/checkpoints.json",
        stages=stage_eval_targets(),  # a recipe's per-stage evaluations (train.smk; none without stages)
        lm_eval=f"{R}/eval/lm_eval.json",
        hf=f"{R}/export/hf",  # hashed into provenance.json with the other artifacts
        # the sweep's fit.json + fit.png when the config has a sweep (sweep.smk), else the report says "no sweep"
        scaling=lambda w: sorted(globals()["sweep_targets"]()) if "sweep_targets" in globals() else [],
    output:
        md=f"reports/{CFG.run}/report.md",
        html=f"reports/{CFG.run}/report.html",
        loss=report(f"reports/{CFG.run}/loss.png", caption="../report/loss.rst", category="Training"),
        training=report(f"reports/{CFG.run}/training.png", caption="../report/training.rst", category="Training"),
        checkpoints=report(f"reports/{CFG.run}/checkpoints.png", caption="../report/checkpoints.rst",
                           category="Evaluation"),
        funnel=report(f"reports/{CFG.run}/funnel.png", caption="../report/funnel.rst", category="Data"),
        s_curve=report(f"reports/{CFG.run}/s_curve.png", caption="../report/s_curve.rst", category="Data"),
        provenance=report(f"reports/{CFG.run}/provenance.json", caption="../report/provenance.rst",
                          category="Provenance"),
    log:
        f"{R}/logs/report.log",
    benchmark:
        bench("build_report")
    params:
        # Snakemake lists config.yaml twice when it is also given with --configfile: once is enough.
        configs=list(dict.fromkeys(os.path.relpath(p, workflow.basedir) for p in workflow.configfiles))
        or ["config.yaml"],
        out_dir=lambda w, output: os.path.dirname(output.md),
        results=lambda w, input: os.path.dirname(os.path.dirname(input.blend)),
        scaling=lambda w, input: [x for f in input.scaling if f.endswith(".json") for x in ("--scaling", f)],
        code=verb_version("report"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci report --results {params.results:q} --out-dir {params.out_dir:q}"
        " --config-files {params.configs:q} {params.scaling:q} > {log:q} 2>&1"
