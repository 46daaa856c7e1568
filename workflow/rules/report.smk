rule build_report:
    """Funnel, loss curve, perplexity and provenance → reports/<run>/report.{md,html}."""
    input:
        stats=lambda w: [f for s in SOURCES for st in ("extract", "tag", "filter")
                         for f in per_shard("{R}/" + st + "/{source}/{shard}.stats.json", s)]
        + expand(f"{R}/dedup/{{source}}/stats.json", source=SOURCES)
        + expand(f"{R}/tokens/{{source}}/stats.json", source=SOURCES),
        blend=f"{R}/mix/blend.json",
        summary=f"{R}/train/train_summary.json",
        metrics=f"{R}/train/metrics.jsonl",
        perplexity=f"{R}/eval/perplexity.json",
    output:
        md=f"reports/{CFG.run}/report.md",
        html=f"reports/{CFG.run}/report.html",
        loss=report(f"reports/{CFG.run}/loss.png", caption="../report/loss.rst", category="Training"),
        funnel=report(f"reports/{CFG.run}/funnel.png", caption="../report/funnel.rst", category="Data"),
    log:
        f"{R}/logs/report.log",
    params:
        configs=" ".join(os.path.relpath(p, workflow.basedir) for p in workflow.configfiles) or "config.yaml",
        out_dir=f"reports/{CFG.run}",
        code=code_version("report", "provenance", "cli"),
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{LMSCI} report --results {R} --out-dir {params.out_dir} --config-files {params.configs}"
        " > {log} 2>&1"
