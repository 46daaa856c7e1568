"""The ablation verbs (issue 13): ``lmsci ablation`` and the jobs workflow/rules/ablation.smk runs.

Apart from lmsci.cli so that cli.py stays one screenful per verb group; lmsci.closure finds a
``cmd_*`` function in either file, so each job's code version is still its own function plus the
lmsci modules it imports.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from lmsci.io import write_json

ROOT = Path(__file__).resolve().parent.parent.parent


def cmd_ablation(a, _):  # issue 13: the plan and projected cost, then `snakemake ablation`
    from lmsci.ablation.run import main as ablation
    return ablation(a.configfile or ["config.yaml", "configs/ablation.yaml"], ROOT, a.plan, a.cores, a.snakemake_args)


def cmd_ablation_evalset(a, s):
    from lmsci.ablation.evalset import build
    b = build(a.inputs, a.tokenizer, s["seed"], float(a.fraction), int(a.max_documents), int(a.document_tokens),
              s["model"].seq_length, s["decontam"], a.out_dir)
    print(f"ablation-evalset: {[(v['source'], v['documents'], v['tokens']) for v in b['valid']]} -> {a.out_dir}")


def cmd_ablation_tokenize(a, s):
    from lmsci.ablation.tokens import run
    run(input=a.input, tokenizer=a.tokenizer, heldout=a.heldout, index=a.index, source=a.source, shard=a.shard,
        seed=s["seed"], decontam=s["decontam"], out=a.out, dropped=a.dropped, stats=a.stats)


def cmd_ablation_mix(a, s):
    from lmsci.ablation.mixing import blend
    from lmsci.io import read_json
    from lmsci.tokenize import bpe
    tok = bpe.load(a.tokenizer)
    write_json(a.out, blend(SimpleNamespace(**s), a.inputs, tok.get_vocab_size(), bpe.eod_id(tok), read_json(a.eval_blend)))


def cmd_ablation_score(a, s):
    import polars as pl
    from lmsci.ablation.score import score
    from lmsci.io import read_json
    score(s["model"], s["train"], read_json(a.eval_blend), pl.read_parquet(a.documents), Path(a.checkpoint), Path(a.out))


def cmd_ablation_report(a, _):
    from lmsci.ablation.report import build
    print(f"ablation-report: {build(a.config_files, a.out_dir, ROOT)} -> {a.out_dir}")
