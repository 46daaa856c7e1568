rule build_report:
    """Funnel, loss curve, perplexity and provenance → reports/<run>/report.{md,html}."""
    input:
        stats=ledger_files(),
        blend=f"{R}/mix/blend.json",
        summary=f"{R}/train/train_summary.json",
        metrics=f"{R}/train/metrics.jsonl",
        perplexity=f"{R}/eval/perplexity.json",
        hf=f"{R}/export/hf",  # hashed into provenance.json with the other artifacts
    output:
        md=f"reports/{CFG.run}/report.md",
        html=f"reports/{CFG.run}/report.html",
        loss=report(f"reports/{CFG.run}/loss.png", caption="../report/loss.rst", category="Training"),
        funnel=report(f"reports/{CFG.run}/funnel.png", caption="../report/funnel.rst", category="Data"),
        s_curve=report(f"reports/{CFG.run}/s_curve.png", caption="../report/s_curve.rst", category="Data"),
    log:
        f"{R}/logs/report.log",
    params:
        configs=" ".join(os.path.relpath(p, workflow.basedir) for p in workflow.configfiles) or "config.yaml",
        out_dir=lambda w, output: os.path.dirname(output.md),
        results=lambda w, input: os.path.dirname(os.path.dirname(input.blend)),
        code=code_version("report", "provenance", "cli"),
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/lmsci.yaml"
    shell:
        "python -m lmsci report --results {params.results} --out-dir {params.out_dir} --config-files {params.configs}"
        " > {log} 2>&1"
