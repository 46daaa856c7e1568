# lmsci — raw web crawl to trained model and report, as one Snakemake workflow.
# This file is the table of contents: config, validation, the stage rules, named targets.
#   snakemake --cores 2                                  # default run (config.yaml)
#   snakemake --cores 2 --configfile config.yaml configs/tiny.yaml
#   snakemake --profile workflow/profiles/slurm          # on a SLURM cluster
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    source="|".join(SOURCES),
    shard=r"[^/]+",


include: "workflow/rules/extract.smk"
include: "workflow/rules/curate.smk"
include: "workflow/rules/dedup.smk"
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/ablation.smk"


# Named targets (dvc.yaml's stages call these; a test keeps the two in step).
TARGETS = {
    "curate": curated_targets(),
    "tokens": token_targets(),
    "train": train_targets(),
    "report": report_targets(),
}


rule all:
    input:
        TARGETS["report"],
    default_target: True


rule curate:
    input:
        TARGETS["curate"],


rule tokens:
    input:
        TARGETS["tokens"],


rule train:
    input:
        TARGETS["train"],


rule report:
    input:
        TARGETS["report"],


# The scaling-law sweep (configs/sweep.yaml): a named target outside `all` and dvc.yaml's stages.
rule sweep:
    input:
        sweep_targets(),


# Data ablations (configs/ablation.yaml): variants × seeds → reports/ablation/; outside `all` and dvc.yaml.
rule ablation:
    input:
        ablation_targets(),
