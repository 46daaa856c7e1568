"""Data ablations as one workflow target (issue 13): which curation or mixing choice makes a better model.

    variants   each variant's full config (the run's + its overlay) and the checks that keep the yardstick fixed
    plan       which variant makes which stage's output (everything a variant does not change is shared)
    wiring     paths and input functions of workflow/rules/ablation.smk
    evalset    the one evaluation set, held out of the shared extraction before any filter
    tokens     a variant's tokenize stage (evaluation set removed), mixing: its blend
    score      per-document loss of a trained run on the evaluation set
    stats      paired bootstrap over evaluation documents, seed pairs, verdicts
    report     reports/ablation/report.{md,html} (render: the text), provenance; run: ``lmsci ablation [--plan]``
"""
