"""The ``lmsci`` command line: every verb's arguments (the verbs themselves are ``cmd_*`` in lmsci.cli).

Kept apart from lmsci.cli so that a verb's code version (lmsci.closure: its ``cmd_*`` function and what
that imports) does not change when another verb's arguments do.
"""
from __future__ import annotations

import argparse


def parser(cli) -> argparse.ArgumentParser:
    from lmsci.ablation import verbs as av
    from lmsci.report import verbs as rv
    p = argparse.ArgumentParser(prog="lmsci", description=cli.__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)

    def verb(name, fn, *args):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        if fn is not cli.cmd_run and fn is not cli.cmd_report:
            sp.add_argument("--cfg", required=True, help="config slice as JSON (the rules pass it)")
        for arg in args:
            sp.add_argument(arg, **({"nargs": "+"} if arg in ("--inputs", "--config-files", "--edges", "--positives",
                                                             "--negatives") else {}),
                            required=True)
        return sp

    verb("extract", cli.cmd_extract, "--source", "--kind", "--input", "--out", "--dropped", "--stats")
    tg = verb("tag", cli.cmd_tag, "--source", "--shard", "--filters", "--input", "--out", "--stats")
    tg.add_argument("--quality-model", help="trained quality classifier (model.bin), when `quality` is listed")
    tg.add_argument("--c4-bad-words", help="C4 bad-words list (c4.bad_words_file), when `c4` is listed")
    tg.add_argument("--dropped", help="empty dropped frame (tag keeps every document; the stage contract's file)")
    verb("train-quality", cli.cmd_train_quality, "--positives", "--negatives", "--out")
    verb("filter", cli.cmd_filter, "--source", "--shard", "--filters", "--input", "--out", "--dropped", "--stats")
    verb("dedup-hashes", cli.cmd_dedup_hashes, "--input", "--out")
    verb("dedup-groups", cli.cmd_dedup_groups, "--inputs", "--out").add_argument("--bucket", type=int, required=True)
    verb("dedup-exact", cli.cmd_dedup_exact, "--source", "--shard", "--input", "--out", "--dropped",
         "--stats").add_argument("--groups", nargs="+", required=True, help="every hash range's groups file")
    verb("pii", cli.cmd_pii, "--source", "--shard", "--input", "--out", "--dropped", "--stats")
    verb("minhash-signatures", cli.cmd_minhash_signatures, "--input", "--out")
    mb = verb("minhash-buckets", cli.cmd_minhash_buckets, "--inputs")
    mb.add_argument("--bands", type=int, nargs="+", help="only these bands (default: all)")
    out = mb.add_mutually_exclusive_group(required=True)
    out.add_argument("--out-dir", help="write band-NNN.parquet per band here")
    out.add_argument("--out", help="the edge file of the one band given with --bands")
    verb("minhash-clusters", cli.cmd_minhash_clusters, "--edges", "--out")
    verb("dedup-minhash", cli.cmd_dedup_minhash, "--source", "--shard", "--input", "--clusters", "--out", "--dropped",
         "--stats")
    cu = sub.add_parser("curate", help="extract, filter, redact and dedup WARC files in one process")
    cu.set_defaults(fn=cli.cmd_curate)
    cu.add_argument("warcs", nargs="+", metavar="WARC")
    cu.add_argument("--out", required=True, help="directory for decisions.parquet and ledger.json")
    cu.add_argument("--config", nargs="+", help="config.yaml plus overlays (default: the repository's config.yaml)")
    cu.add_argument("--source", default="crawl", help="source whose filters apply and that names the ids")
    cu.add_argument("--quality-model", help="trained quality classifier (default: train one into OUT/quality/ "
                    "from quality.positive_sources vs the given WARCs)")
    verb("train-tokenizer", cli.cmd_train_tokenizer, "--inputs", "--out")
    verb("split-fallback", cli.cmd_split_fallback, "--inputs", "--out")
    verb("decontam-index", cli.cmd_decontam_index, "--inputs", "--split-fallback", "--out")
    tk = verb("tokenize", cli.cmd_tokenize, "--source", "--shard", "--input", "--tokenizer", "--split-fallback",
              "--out", "--dropped", "--stats")
    tk.add_argument("--index", help="decontamination index (.npy, lmsci decontam-index): training documents "
                    "sharing decontam.ngram-grams with it are dropped")
    verb("merge-tokens", cli.cmd_merge_tokens, "--inputs", "--tokenizer", "--out")
    mx = verb("mix", cli.cmd_mix, "--inputs", "--tokenizer", "--out")
    mx.add_argument("--stage", default="", help="a train.stages name: that stage's manifest (its weights, seq_length)")
    verb("train", cli.cmd_train, "--blend", "--out-dir")
    verb("recipe", cli.cmd_recipe, "--stages-dir", "--out-dir")  # train.stages → one run's outputs
    pc = sub.add_parser("publish-checkpoints", help="the run's complete checkpoints → a declared output directory")
    pc.set_defaults(fn=cli.cmd_publish_checkpoints)
    pc.add_argument("--train-dir", required=True, help="results/train (checkpoints/step_*/, checkpoint/)")
    pc.add_argument("--out-dir", required=True, help="published copy (replaced)")
    verb("evaluate", cli.cmd_evaluate, "--blend", "--checkpoint", "--out")
    verb("evaluate-checkpoints", cli.cmd_evaluate_checkpoints, "--blend", "--train-dir", "--out")
    sf = verb("scaling-fit", cli.cmd_scaling_fit, "--inputs", "--out-dir")
    sf.add_argument("--runs", nargs="+", required=True, help="<model>/<tokens> of each perplexity file, in order")
    rp = verb("report", cli.cmd_report, "--results", "--out-dir", "--config-files")
    rp.add_argument("--scaling", help="scaling-law fit JSON (lmsci/scaling) to render; default: none in this run")
    vf = sub.add_parser("verify", help="re-hash every artifact a report's provenance.json lists")
    vf.set_defaults(fn=rv.cmd_verify)
    vf.add_argument("report_dir", help="reports/<run>")
    vf.add_argument("--results", help="results directory (default: the one provenance.json names)")
    rr = sub.add_parser("reproduce", help="rerun a report's commit and config in a clean clone; compare every hash")
    rr.set_defaults(fn=rv.cmd_reproduce)
    rr.add_argument("report_dir", help="reports/<run>")
    rr.add_argument("--until", default="report", help="curate, tokens, train or report (default: report, all)")
    rr.add_argument("--remote", help="DVC remote to pull the inputs from (default: the clone's committed files)")
    rr.add_argument("--repo", help="repository to clone (default: the one provenance.json names)")
    rr.add_argument("--workdir", help="empty directory for the clone (default: a new temporary one)")
    rr.add_argument("--cores", type=int, default=2)
    rr.add_argument("--keep", action="store_true", help="keep the clone even when every artifact is identical")
    df = sub.add_parser("diff", help="where two runs part: config, code, packages, inputs, first stage, loss step")
    df.set_defaults(fn=rv.cmd_diff)
    df.add_argument("run_a", help="reports/<run A>")
    df.add_argument("run_b", help="reports/<run B>")
    tr = sub.add_parser("trace", help="a training token → document id, WARC record, filter attributes")
    tr.set_defaults(fn=rv.cmd_trace)
    for arg in ("--step", "--sample", "--position"):
        tr.add_argument(arg, type=int, required=True)
    tr.add_argument("--results", help="results directory (default: the config's `results`)")
    tr.add_argument("--configfile", nargs="+", help="config.yaml plus overlays the run used (later ones win)")
    tr.add_argument("--stage", default="", help="a recipe's stage (--step is then its own); default: --step "
                    "counts over the whole recipe")
    ins = sub.add_parser("inspect", help="audit dropped documents: counts per reason, or samples of one")
    ins.set_defaults(fn=rv.cmd_inspect)
    ins.add_argument("what", choices=["dropped"])
    ins.add_argument("--reason", help="e.g. gopher_quality/few_words, or a filter name for all its reasons")
    ins.add_argument("-n", type=int, default=5, help="how many samples")
    ins.add_argument("--chars", type=int, default=400, help="characters of text per sample")
    ins.add_argument("--results", help="results directory (default: the config's `results`)")
    ins.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (later ones win)")
    bt = sub.add_parser("batch", help="the exact tokens of a training step and their document ids")
    bt.set_defaults(fn=rv.cmd_batch)
    bt.add_argument("--step", type=int, required=True)
    bt.add_argument("--stage", default="", help="a recipe's stage (as for trace)")
    bt.add_argument("--json", action="store_true", help="token ids and document ids as JSON")
    bt.add_argument("--results", help="results directory (default: the config's `results`)")
    bt.add_argument("--configfile", nargs="+", help="config.yaml plus overlays the run used (later ones win)")
    ex = sub.add_parser("export-hf", help="checkpoint → transformers Llama (or Mixtral) directory")
    ex.set_defaults(fn=cli.cmd_export_hf)
    ex.add_argument("checkpoint", help="results/train/checkpoint")
    ex.add_argument("out", help="output directory: new, empty, or an earlier export (replaced); never another")
    ex.add_argument("--tokenizer", help="tokenizer.json (default: <checkpoint>/../../tokenizer/tokenizer.json)")
    im = sub.add_parser("import-hf", help="transformers Llama / Mixtral directory → lmsci checkpoint (train.init_from)")
    im.set_defaults(fn=cli.cmd_import_hf)
    im.add_argument("hf_dir", help="directory with config.json and *.safetensors (no pickles, no custom code)")
    im.add_argument("--out", required=True, help="output directory: new, empty, or an earlier import (replaced)")
    verb("eval-tasks", cli.cmd_eval_tasks, "--blend", "--tokenizer", "--out-dir", "--per-source")
    le = sub.add_parser("lm-eval", help="lm-evaluation-harness on an export-hf directory with the local tasks")
    le.set_defaults(fn=cli.cmd_lm_eval)
    le.add_argument("hf_dir", help="results/export/hf")
    le.add_argument("tasks_dir", help="results/eval/tasks (lmsci eval-tasks)")
    le.add_argument("--out", required=True, help="JSON: task → metric → value")
    le.add_argument("--limit", type=int, help="items per task (default: all)")
    pl = sub.add_parser("pull", help="dvc pull, then snakemake --touch so nothing restored is recomputed")
    pl.set_defaults(fn=cli.cmd_pull)
    pl.add_argument("targets", nargs="*", help="Snakemake targets to mark up to date (default: dvc.yaml's stages)")
    pl.add_argument("--remote", help="DVC remote (default: core.remote in .dvc/config)")
    pl.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (default: the Snakefile's)")
    ab = sub.add_parser("ablation", help="data ablation (ablation: in the config): plan and cost, then run it")
    ab.set_defaults(fn=av.cmd_ablation)
    ab.add_argument("--plan", action="store_true", help="print the jobs and projected CPU/GPU hours; run nothing")
    ab.add_argument("--cores", type=int, default=2)
    ab.add_argument("--configfile", nargs="+", help="default: config.yaml configs/ablation.yaml")
    ab.add_argument("snakemake_args", nargs="*", help="Snakemake flags, passed on (e.g. --forceall)")
    verb("ablation-evalset", av.cmd_ablation_evalset, "--inputs", "--tokenizer", "--fraction", "--max-documents",
         "--document-tokens", "--out-dir")
    verb("ablation-tokenize", av.cmd_ablation_tokenize, "--source", "--shard", "--input", "--tokenizer", "--heldout",
         "--out", "--dropped", "--stats").add_argument("--index", help="the evaluation set's decontamination index")
    verb("ablation-mix", av.cmd_ablation_mix, "--inputs", "--tokenizer", "--eval-blend", "--out")
    verb("ablation-score", av.cmd_ablation_score, "--checkpoint", "--eval-blend", "--documents", "--out")
    ar = sub.add_parser("ablation-report", help="reports/ablation: verdicts, funnel, losses, cost, provenance")
    ar.set_defaults(fn=av.cmd_ablation_report)
    ar.add_argument("--config-files", nargs="+", required=True)
    ar.add_argument("--out-dir", required=True)
    run = verb("run", cli.cmd_run)
    run.add_argument("--cores", type=int, default=2)
    run.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (later ones win)")
    run.add_argument("snakemake_args", nargs="*", help="Snakemake flags and targets, passed on in order "
                     "(lmsci run -n tokens; --forceall; --until tag)")
    return p
