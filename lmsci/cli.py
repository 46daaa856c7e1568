"""``lmsci`` / ``python -m lmsci``: the workflow's verbs. Each rule calls exactly one.

Verbs take the narrow config slice they need as JSON (``--cfg``), their input and output
paths, and fail with one line naming the problem — never a bare traceback.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from lmsci import config as C
from lmsci.io import write_json, write_parquet

ROOT = Path(__file__).resolve().parent.parent


def cmd_extract(a, s):
    if a.kind == "warc":
        from lmsci.crawl.extract import extract_shard
        df, led = extract_shard(a.source, a.input, s["extract"])
    else:
        from lmsci.crawl.jsonl import read_shard
        df, led = read_shard(a.source, a.input)
    write_parquet(a.out, df)
    led.bytes_out = Path(a.out).stat().st_size
    led.write(a.stats)


def cmd_tag(a, s):
    import polars as pl
    from lmsci.curate.tag import tag
    filters = _filters(a)
    from lmsci.config import C4Config
    c4_cfg = C4Config(bad_words_file=a.c4_bad_words) if a.c4_bad_words else None
    df, led = tag(pl.read_parquet(a.input), filters, a.source, a.shard, a.quality_model, c4_cfg)
    write_parquet(a.out, df)
    led.write(a.stats)


def cmd_train_quality(a, s):
    import polars as pl
    from lmsci.curate import quality

    def texts(paths):
        return pl.concat([pl.read_parquet(p, columns=["id", "text"]) for p in paths]).sort("id")["text"].to_list()

    meta = quality.train(texts(a.positives), texts(a.negatives), s["quality"], s["seed"], a.out,
                         s["quality"].positive_sources)
    print(f"train-quality: {meta['positives']} positives vs {meta['negatives']} of {meta['pool']} ranked "
          f"documents -> {a.out} (sha256 {meta['model_sha256'][:16]})")


def cmd_filter(a, s):
    import polars as pl
    from lmsci.curate.filter import apply
    filters = _filters(a)
    kept, dropped, led = apply(pl.read_parquet(a.input), filters, _Ns(s), a.source, a.shard)
    write_parquet(a.out, kept)
    write_parquet(a.dropped, dropped)
    led.write(a.stats)


def cmd_dedup_exact(a, s):
    import polars as pl
    from lmsci.dedup.exact import dedup
    kept, dropped, led = dedup([pl.read_parquet(p) for p in a.inputs], a.source, s["dedup"].exact)
    write_parquet(a.out, kept)
    write_parquet(a.dropped, dropped)
    led.write(a.stats)


def cmd_pii(a, s):
    import polars as pl
    from lmsci.curate.pii import apply
    df, led = apply(pl.read_parquet(a.input), s["pii"], a.source, a.shard)
    write_parquet(a.out, df)
    led.write(a.stats)


def cmd_minhash_signatures(a, s):
    import polars as pl
    from lmsci.dedup import minhash
    write_parquet(a.out, minhash.signatures(pl.read_parquet(a.input, columns=["id", "text"]), s["minhash"]))


def cmd_minhash_buckets(a, s):
    import polars as pl
    from lmsci.dedup import minhash
    cfg = s["minhash"]
    sigs = pl.concat([pl.read_parquet(p) for p in a.inputs])
    for band in (a.bands if a.bands is not None else range(cfg.bands)):  # a cluster can fan out per band
        write_parquet(Path(a.out_dir) / minhash.band_file(band), minhash.band_edges(sigs, band, cfg))


def cmd_dedup_minhash(a, s):
    import polars as pl
    from lmsci.dedup import minhash
    clus = minhash.clusters([pl.read_parquet(p) for p in a.edges])
    write_parquet(a.clusters, clus)
    kept, dropped, led = minhash.apply([pl.read_parquet(p) for p in a.inputs], clus, a.source)
    write_parquet(a.out, kept)
    write_parquet(a.dropped, dropped)
    led.write(a.stats)


def cmd_curate(a, _):
    from lmsci.curate.chain import curate
    from lmsci.io import write_json
    cfg = C.load(*(a.config or [ROOT / "config.yaml"]))
    decisions, led = curate(a.warcs, cfg, a.source, quality_model=a.quality_model, out_dir=Path(a.out), root=ROOT)
    write_parquet(Path(a.out) / "decisions.parquet", decisions)
    write_json(Path(a.out) / "ledger.json", led.to_dict())
    print(f"curate: {led.kept} of {led.seen} records kept -> {Path(a.out) / 'decisions.parquet'}")


def cmd_train_tokenizer(a, s):
    import polars as pl
    from lmsci.tokenize import bpe
    by_source: dict[str, list] = {}
    for p in sorted(a.inputs):
        df = pl.read_parquet(p, columns=["id", "source", "text"])
        for src, text in df.sort("id").select("source", "text").iter_rows():
            by_source.setdefault(src, []).append(text)
    tok = bpe.train(bpe.sample(by_source, s["tokenizer"].sample_chars), s["tokenizer"])
    bpe.save(tok, a.out)


def cmd_tokenize(a, s):
    import polars as pl
    from lmsci.tokenize import bpe
    from lmsci.tokenize.encode import encode_source
    df = pl.concat([pl.read_parquet(p, columns=["id", "url", "text"]) for p in a.inputs])
    index, dropped = None, []
    if a.heldout and "decontam" in s and s["decontam"].enabled:
        from lmsci.curate import decontam
        from lmsci.tokenize.split import held_out
        texts = []
        for p in sorted(a.heldout):  # every source's valid documents: what perplexity and lm-eval score
            other = pl.read_parquet(p, columns=["id", "text"]).sort("id")
            texts += held_out(other["id"].to_list(), other["text"].to_list(), s["seed"], s["split"].valid_fraction)
        index = decontam.build(texts, s["decontam"], [ROOT / x for x in s["decontam"].extra_paths])
    lineage, led = encode_source(df, bpe.load(a.tokenizer), a.source, Path(a.out_dir), s["seed"],
                                 s["split"].valid_fraction, index, dropped)
    write_parquet(Path(a.out_dir) / "documents.parquet", lineage)
    write_parquet(Path(a.out_dir) / "dropped.parquet", pl.DataFrame(dropped, schema={
        "id": pl.String, "url": pl.String, "reason": pl.String, "text": pl.String, "overlaps": pl.Int64}))
    led.write(Path(a.out_dir) / "stats.json")


def cmd_mix(a, s):
    from lmsci import ledger, mix
    from lmsci.tokenize import bpe
    cfg = _Ns(s)
    stats = {Path(p).parent.name: ledger.load(p) for p in a.inputs}
    tok = bpe.load(a.tokenizer)
    write_json(a.out, mix.blend(cfg, stats, tok.get_vocab_size(), bpe.eod_id(tok), a.tokens_dir))


def cmd_train(a, s):
    from lmsci.train.loop import train
    from lmsci.io import jsonl_to_csv
    train(s["model"], s["train"], s["seed"], Path(a.blend), Path(a.out_dir))
    jsonl_to_csv(Path(a.out_dir) / "metrics.jsonl", Path(a.out_dir) / "metrics.csv")


def cmd_evaluate(a, s):
    from lmsci.evaluate.perplexity import perplexity
    perplexity(s["model"], s["train"], Path(a.blend), Path(a.checkpoint), s["evaluate"].max_tokens, Path(a.out))


def cmd_evaluate_checkpoints(a, s):
    from lmsci.evaluate.checkpoints import evaluate
    ev = s["evaluate"]
    evaluate(s["model"], s["train"], Path(a.blend), Path(a.train_dir), min(ev.checkpoint_max_tokens, ev.max_tokens),
             Path(a.out))


def cmd_scaling_fit(a, s):
    from lmsci.scaling import fit, grid, plot
    sw = s["sweep"]
    runs = grid.collect(s["model"], sw, a.runs, [Path(p) for p in a.inputs])
    result = fit.analyse(runs, sw.target_flops, sw.resamples, s["seed"], sw.ci_level, sw.isoflop_rtol)
    write_json(Path(a.out_dir) / "fit.json", result)
    plot.plot(result, Path(a.out_dir) / "fit.png")
    p, o = result["params"], result["optimum"]
    print(f"scaling-fit: L = {p['E']:.3f} + {p['A']:.4g}/N^{p['alpha']:.3f} + {p['B']:.4g}/D^{p['beta']:.3f} "
          f"over {len(runs)} runs; at C = {o['C']:.3g}: N = {o['N']:.4g}, D = {o['D']:.4g} -> {a.out_dir}")


def cmd_report(a, s):
    from lmsci.report.build import build
    build(Path(a.results), Path(a.out_dir), a.config_files, Path(a.scaling) if a.scaling else None)


def cmd_verify(a, _):
    from lmsci.report.verify import verify
    root, n, problems = verify(Path(a.report_dir), Path(a.results) if a.results else None)
    for problem in problems:
        print(problem.line())
    print(f"verify: {n - len(problems)} of {n} artifacts under {root} match provenance.json")
    return 1 if problems else 0


def cmd_trace(a, _):
    import json
    from lmsci.report.trace import trace
    cfg = C.load(*(a.configfile or ["config.yaml"]))
    print(json.dumps(trace(Path(a.results or cfg.results), cfg, a.step, a.sample, a.position),
                     indent=2, ensure_ascii=False))


def cmd_batch(a, _):
    import json
    from lmsci.report.trace import batch
    cfg = C.load(*(a.configfile or ["config.yaml"]))
    out = batch(Path(a.results or cfg.results), a.step)
    if a.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    for smp in out["samples"]:
        print(f"--- step {out['step']} sample {smp['sample']}: " + ", ".join(
            f"{d['id']} [{d['first']}:{d['end']}]" for d in smp["documents"]))
        print(smp["text"])


def cmd_inspect(a, _):
    from lmsci.report import inspect
    results = Path(a.results or C.load(*(a.configfile or ["config.yaml"])).results)
    if a.reason is None:
        for reason, n in sorted(inspect.reasons(results).items()):
            print(f"{n:8d}  {reason}")
        return
    for doc in inspect.samples(results, a.reason, a.n).iter_rows(named=True):
        text = " ".join(doc["text"].split())
        print(f"--- {doc['id']}  {doc['reason']}  {doc['url']}\n{text[:a.chars]}")


def cmd_export_hf(a, _):
    from lmsci.evaluate.export_hf import export
    export(Path(a.checkpoint), Path(a.out), Path(a.tokenizer) if a.tokenizer else None)


def cmd_eval_tasks(a, s):
    from lmsci.evaluate import tasks
    from lmsci.io import read_json
    counts = tasks.build(read_json(a.blend), Path(a.tokenizer), Path(a.out_dir), s["seed"], int(a.per_source))
    print(f"eval-tasks: {counts} items -> {a.out_dir}")


def cmd_lm_eval(a, _):
    from lmsci.evaluate import tasks
    write_json(a.out, tasks.run(Path(a.hf_dir), Path(a.tasks_dir), a.limit))


def cmd_run(a, _):
    files = a.configfile or ["config.yaml"]
    C.load(*files, root=ROOT)  # fail here, in one line, before Snakemake starts anything
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT),
           "--cores", str(a.cores), "--configfile", *files, "--rerun-incomplete", *a.snakemake_args]
    # The rules call `python -m lmsci`: this interpreter's environment comes first on PATH.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return subprocess.call(cmd, env=env)


def cmd_pull(a, _):
    from lmsci.pull import pull
    if a.configfile:
        C.load(*a.configfile, root=ROOT)
    left = pull(ROOT, a.targets or None, a.configfile, a.remote)
    print("lmsci pull: outputs restored; Snakemake has nothing to recompute" if not left else
          f"lmsci pull: outputs restored; Snakemake still runs what DVC does not track:\n{left}")


def _filters(a) -> list[str]:
    names = [f for f in a.filters.split(",") if f]
    for f in names:
        if f not in C.FILTERS:
            raise C.ConfigError(f"unknown filter '{f}'; choose from {', '.join(C.FILTERS)}")
    return names


class _Ns:
    """Attribute access over a parsed slice (what filter/mix need from the config tree)."""

    def __init__(self, s: dict):
        self.__dict__.update(s)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmsci", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)

    def verb(name, fn, *args):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        if fn is not cmd_run and fn is not cmd_report:
            sp.add_argument("--cfg", required=True, help="config slice as JSON (the rules pass it)")
        for arg in args:
            sp.add_argument(arg, **({"nargs": "+"} if arg in ("--inputs", "--config-files", "--edges", "--positives",
                                                             "--negatives") else {}),
                            required=True)
        return sp

    verb("extract", cmd_extract, "--source", "--kind", "--input", "--out", "--stats")
    tg = verb("tag", cmd_tag, "--source", "--shard", "--filters", "--input", "--out", "--stats")
    tg.add_argument("--quality-model", help="trained quality classifier (model.bin), when `quality` is listed")
    tg.add_argument("--c4-bad-words", help="C4 bad-words list (c4.bad_words_file), when `c4` is listed")
    verb("train-quality", cmd_train_quality, "--positives", "--negatives", "--out")
    verb("filter", cmd_filter, "--source", "--shard", "--filters", "--input", "--out", "--dropped", "--stats")
    verb("dedup-exact", cmd_dedup_exact, "--source", "--inputs", "--out", "--dropped", "--stats")
    verb("pii", cmd_pii, "--source", "--shard", "--input", "--out", "--stats")
    verb("minhash-signatures", cmd_minhash_signatures, "--input", "--out")
    mb = verb("minhash-buckets", cmd_minhash_buckets, "--inputs", "--out-dir")
    mb.add_argument("--bands", type=int, nargs="+", help="only these bands (default: all)")
    verb("dedup-minhash", cmd_dedup_minhash, "--source", "--inputs", "--edges", "--clusters", "--out", "--dropped",
         "--stats")
    cu = sub.add_parser("curate", help="extract, filter, redact and dedup WARC files in one process")
    cu.set_defaults(fn=cmd_curate)
    cu.add_argument("warcs", nargs="+", metavar="WARC")
    cu.add_argument("--out", required=True, help="directory for decisions.parquet and ledger.json")
    cu.add_argument("--config", nargs="+", help="config.yaml plus overlays (default: the repository's config.yaml)")
    cu.add_argument("--source", default="crawl", help="source whose filters apply and that names the ids")
    cu.add_argument("--quality-model", help="trained quality classifier (default: train one into OUT/quality/ "
                    "from quality.positive_sources vs the given WARCs)")
    verb("train-tokenizer", cmd_train_tokenizer, "--inputs", "--out")
    tk = verb("tokenize", cmd_tokenize, "--source", "--inputs", "--tokenizer", "--out-dir")
    tk.add_argument("--heldout", nargs="+", help="every source's deduplicated documents: their valid split is "
                    "what training documents are decontaminated against")
    verb("mix", cmd_mix, "--inputs", "--tokenizer", "--tokens-dir", "--out")
    verb("train", cmd_train, "--blend", "--out-dir")
    verb("evaluate", cmd_evaluate, "--blend", "--checkpoint", "--out")
    verb("evaluate-checkpoints", cmd_evaluate_checkpoints, "--blend", "--train-dir", "--out")
    sf = verb("scaling-fit", cmd_scaling_fit, "--inputs", "--out-dir")
    sf.add_argument("--runs", nargs="+", required=True, help="<model>/<tokens> of each perplexity file, in order")
    rp = verb("report", cmd_report, "--results", "--out-dir", "--config-files")
    rp.add_argument("--scaling", help="scaling-law fit JSON (lmsci/scaling) to render; default: none in this run")
    vf = sub.add_parser("verify", help="re-hash every artifact a report's provenance.json lists")
    vf.set_defaults(fn=cmd_verify)
    vf.add_argument("report_dir", help="reports/<run>")
    vf.add_argument("--results", help="results directory (default: the one provenance.json names)")
    tr = sub.add_parser("trace", help="a training token → document id, WARC record, filter attributes")
    tr.set_defaults(fn=cmd_trace)
    for arg in ("--step", "--sample", "--position"):
        tr.add_argument(arg, type=int, required=True)
    tr.add_argument("--results", help="results directory (default: the config's `results`)")
    tr.add_argument("--configfile", nargs="+", help="config.yaml plus overlays the run used (later ones win)")
    ins = sub.add_parser("inspect", help="audit dropped documents: counts per reason, or samples of one")
    ins.set_defaults(fn=cmd_inspect)
    ins.add_argument("what", choices=["dropped"])
    ins.add_argument("--reason", help="e.g. gopher_quality/few_words, or a filter name for all its reasons")
    ins.add_argument("-n", type=int, default=5, help="how many samples")
    ins.add_argument("--chars", type=int, default=400, help="characters of text per sample")
    ins.add_argument("--results", help="results directory (default: the config's `results`)")
    ins.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (later ones win)")
    bt = sub.add_parser("batch", help="the exact tokens of a training step and their document ids")
    bt.set_defaults(fn=cmd_batch)
    bt.add_argument("--step", type=int, required=True)
    bt.add_argument("--json", action="store_true", help="token ids and document ids as JSON")
    bt.add_argument("--results", help="results directory (default: the config's `results`)")
    bt.add_argument("--configfile", nargs="+", help="config.yaml plus overlays the run used (later ones win)")
    ex = sub.add_parser("export-hf", help="checkpoint → transformers LlamaForCausalLM directory")
    ex.set_defaults(fn=cmd_export_hf)
    ex.add_argument("checkpoint", help="results/train/checkpoint")
    ex.add_argument("out", help="output directory (replaced)")
    ex.add_argument("--tokenizer", help="tokenizer.json (default: <checkpoint>/../../tokenizer/tokenizer.json)")
    verb("eval-tasks", cmd_eval_tasks, "--blend", "--tokenizer", "--out-dir", "--per-source")
    le = sub.add_parser("lm-eval", help="lm-evaluation-harness on an export-hf directory with the local tasks")
    le.set_defaults(fn=cmd_lm_eval)
    le.add_argument("hf_dir", help="results/export/hf")
    le.add_argument("tasks_dir", help="results/eval/tasks (lmsci eval-tasks)")
    le.add_argument("--out", required=True, help="JSON: task → metric → value")
    le.add_argument("--limit", type=int, help="items per task (default: all)")
    pl = sub.add_parser("pull", help="dvc pull, then snakemake --touch so nothing restored is recomputed")
    pl.set_defaults(fn=cmd_pull)
    pl.add_argument("targets", nargs="*", help="Snakemake targets to mark up to date (default: dvc.yaml's stages)")
    pl.add_argument("--remote", help="DVC remote (default: core.remote in .dvc/config)")
    pl.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (default: the Snakefile's)")
    run = verb("run", cmd_run)
    run.add_argument("--cores", type=int, default=2)
    run.add_argument("--configfile", nargs="+", help="config.yaml plus overlays (later ones win)")
    run.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="passed on to snakemake")
    return p


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        s = C.parse_slice(a.cfg) if getattr(a, "cfg", None) else {}
        rc = a.fn(a, s)
    except (C.ConfigError, OSError, RuntimeError, ValueError) as e:
        if os.environ.get("LMSCI_DEBUG"):
            raise
        print(f"lmsci {a.verb}: error: {e} (set LMSCI_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return rc or 0
