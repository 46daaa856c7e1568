"""``lmsci`` / ``python -m lmsci``: the workflow's verbs. Each rule calls exactly one.

Verbs take the narrow config slice they need as JSON (``--cfg``), their input and output
paths, and fail with one line naming the problem — never a bare traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lmsci import config as C
from lmsci.io import write_json, write_parquet

ROOT = Path(__file__).resolve().parent.parent


def cmd_extract(a, s):
    import functools
    from lmsci import stage
    if a.kind == "warc":
        from lmsci.crawl.extract import extract_shard
        fn = functools.partial(extract_shard, a.source, cfg=s["extract"])
    else:
        from lmsci.crawl.jsonl import read_shard
        fn = functools.partial(read_shard, a.source, on_corrupt=s["extract"].on_corrupt)
    led = stage.run(fn, a.input, out=a.out, dropped=a.dropped, stats=a.stats)
    for d in led.extra.get("damaged", []):  # counted (extract.on_corrupt: count); one line each in the log
        print(f"lmsci extract: warning: {d['file']}: {d['reason']} at byte offset {d['offset']}: {d['detail']}",
              file=sys.stderr)


def cmd_tag(a, s):
    import dataclasses
    import functools

    from lmsci import stage
    from lmsci.config import C4Config
    from lmsci.curate import tag
    filters = _filters(a)
    # --cfg carries what changes a measure (config.measure_json: each filter's `impl`, langid's `languages`).
    sections = {name: s[name] for name in filters if name in s}
    if a.c4_bad_words:
        sections["c4"] = dataclasses.replace(sections.get("c4", C4Config()), bad_words_file=a.c4_bad_words)
    fn = functools.partial(tag.stage, filters=filters, source=a.source, shard=a.shard,
                           quality_model=a.quality_model, sections=sections)
    stage.run(fn, stage.read(a.input), out=a.out, stats=a.stats, dropped=a.dropped)


def cmd_train_quality(a, s):
    import polars as pl
    from lmsci import sampling
    from lmsci.curate import quality

    cfg, seen = s["quality"], {"positives": 0, "pool": 0}

    def texts(paths, kind):
        """The seeded sample of the shards' documents within quality.sample_chars, in id order; one shard read
        at a time, so the job's memory is bounded whatever the crawl size."""
        def shards():
            for p in paths:
                df = pl.read_parquet(p, columns=["id", "text"])
                seen[kind] += df.height
                yield df["id"].to_list(), df["text"].to_list()
        kept = sampling.lowest_rank(shards(), cfg.sample_chars, s["seed"], f"quality-{kind}")
        return [t for _, _, t in sorted(kept, key=lambda d: d[1])]

    meta = quality.train(texts(a.positives, "positives"), texts(a.negatives, "pool"), cfg, s["seed"], a.out,
                         cfg.positive_sources, sampled_from=seen)
    print(f"train-quality: {meta['positives']} positives vs {meta['negatives']} of {meta['pool']} ranked "
          f"documents (sampled from {seen['pool']:,}) -> {a.out} (sha256 {meta['model_sha256'][:16]})")


def cmd_filter(a, s):
    import functools

    from lmsci import stage
    from lmsci.curate.filter import apply
    fn = functools.partial(apply, filters=_filters(a), cfg=_Ns(s), source=a.source, shard=a.shard)
    stage.run(fn, stage.read(a.input), out=a.out, stats=a.stats, dropped=a.dropped)


def cmd_dedup_hashes(a, s):
    import polars as pl
    from lmsci.dedup import exact
    df = pl.read_parquet(a.input, columns=["id", "text"])
    exact.write_sorted(a.out, exact.hashes(df, s["dedup"].hash_buckets, s["dedup"].exact))


def cmd_dedup_groups(a, s):
    from lmsci.dedup import exact
    if not 0 <= a.bucket < s["dedup"].hash_buckets:
        raise ValueError(f"dedup bucket {a.bucket} out of range: dedup.hash_buckets is {s['dedup'].hash_buckets}")
    exact.write_sorted(a.out, exact.groups([exact.read_bucket(a.inputs, a.bucket)]))


def cmd_dedup_exact(a, s):
    import functools
    from lmsci import stage
    from lmsci.dedup import exact
    docs = stage.read(a.input)
    dups = exact.read_for(a.groups, docs["id"], exact.GROUP_SCHEMA)
    stage.run(functools.partial(exact.apply, dups=dups, source=a.source, shard=a.shard), docs,
              out=a.out, dropped=a.dropped, stats=a.stats)


def cmd_pii(a, s):
    import functools
    from lmsci import stage
    from lmsci.curate import pii
    fn = functools.partial(pii.stage, cfg=s["pii"], source=a.source, shard=a.shard)
    stage.run(fn, stage.read(a.input), out=a.out, dropped=a.dropped, stats=a.stats)  # dropped: always empty


def cmd_minhash_signatures(a, s):
    import polars as pl
    from lmsci.dedup import minhash
    write_parquet(a.out, minhash.signatures(pl.read_parquet(a.input, columns=["id", "text"]), s["minhash"]))


def cmd_minhash_buckets(a, s):
    from lmsci.dedup import minhash
    cfg = s["minhash"]
    bands = a.bands if a.bands is not None else range(cfg.bands)  # a cluster can fan out per band
    if a.out and len(bands) != 1:
        raise ValueError("minhash-buckets: --out takes one band; give exactly one with --bands, or use --out-dir")
    for band in bands:
        out = a.out or Path(a.out_dir) / minhash.band_file(band)
        write_parquet(out, minhash.band_file_edges(a.inputs, band, cfg))


def cmd_minhash_clusters(a, s):
    from lmsci.dedup import exact, minhash
    exact.write_sorted(a.out, minhash.clusters(a.edges))


def cmd_dedup_minhash(a, s):
    from lmsci import stage
    from lmsci.dedup import exact, minhash
    docs = stage.read(a.input)
    clus = exact.read_for([a.clusters], docs["id"], minhash.CLUSTER_SCHEMA)  # this shard's rows only

    def near_dedup(d):
        return minhash.apply([d], clus, a.source, shard=a.shard)
    stage.run(near_dedup, docs, out=a.out, dropped=a.dropped, stats=a.stats)


def cmd_curate(a, _):
    from lmsci.curate.chain import curate
    from lmsci.io import write_json
    cfg = C.load(*(a.config or [ROOT / "config.yaml"]))
    decisions, led = curate(a.warcs, cfg, a.source, quality_model=a.quality_model, out_dir=Path(a.out), root=ROOT)
    write_parquet(Path(a.out) / "decisions.parquet", decisions)
    write_json(Path(a.out) / "ledger.json", led.to_dict())
    for d in led.extra["damaged"]:  # counted in decisions.parquet; named here so nobody misses them
        print(f"lmsci curate: warning: {d['file']}: {d['reason']} at byte offset {d['offset']}: {d['detail']}",
              file=sys.stderr)
    for f in led.extra["failed_files"]:  # one line per file that could not be read; the others are curated
        print(f"lmsci curate: error: {f['error']}", file=sys.stderr)
    print(f"curate: {led.kept} of {led.seen} records kept from {len(a.warcs) - len(led.extra['failed_files'])} "
          f"of {len(a.warcs)} files -> {Path(a.out) / 'decisions.parquet'}")
    return 1 if led.extra["failed_files"] else 0


def cmd_train_tokenizer(a, s):
    from lmsci.tokenize import bpe
    cfg = s["tokenizer"]
    tok = bpe.train(bpe.sample(bpe.read_shards(a.inputs), cfg.sample_chars, s["seed"]), cfg)
    bpe.save(tok, a.out)


def cmd_split_fallback(a, s):
    from lmsci.tokenize import heldout
    write_json(a.out, heldout.fallback(a.inputs, s["seed"], s["split"].valid_fraction))


def cmd_decontam_index(a, s):
    from lmsci.curate import decontam
    from lmsci.io import read_json
    from lmsci.tokenize import heldout
    texts = heldout.held_out_texts(a.inputs, s["seed"], s["split"].valid_fraction, read_json(a.split_fallback))
    index = decontam.write_index(texts, s["decontam"], a.out, [ROOT / x for x in s["decontam"].extra_paths])
    print(f"decontam-index: {len(index.hashes)} distinct {index.ngram}-grams of {index.texts} texts -> {a.out}")


def cmd_tokenize(a, s):
    import functools
    from lmsci import stage
    from lmsci.tokenize import encode, fast, heldout
    print(f"tokenize: encoder {fast.backend(a.tokenizer)}")
    index = None
    if a.index:
        from lmsci.curate import decontam
        index = decontam.Index.load(a.index, s["decontam"])
    fn = functools.partial(encode.stage, out_dir=Path(a.out).parent, tokenizer=a.tokenizer, source=a.source,
                           shard=a.shard, seed=s["seed"], valid_fraction=s["split"].valid_fraction,
                           overrides=heldout.load_overrides(a.split_fallback, a.source), index=index)
    stage.run(fn, stage.read(a.input, columns=["id", "url", "text"]), out=a.out,
              stats=a.stats, dropped=a.dropped)


def cmd_merge_tokens(a, s):
    from lmsci.tokenize import bpe, merge
    vocab = bpe.load(a.tokenizer).get_vocab_size()
    lineage = merge.merge([Path(p).parent for p in a.inputs], Path(a.out).parent, vocab)
    print(f"merge-tokens: {lineage.height} documents of {len(a.inputs)} shards -> {Path(a.out).parent}")


def cmd_mix(a, s):
    from lmsci import ledger, mix
    from lmsci.tokenize import bpe
    tok = bpe.load(a.tokenizer)
    stats = [ledger.load(p) for p in a.inputs]
    tokens_dir = str(Path(a.inputs[0]).parent.parent)  # <tokens>/<source>/<shard>.stats.json
    write_json(a.out, mix.blend(_Ns(s), stats, tok.get_vocab_size(), bpe.eod_id(tok), tokens_dir, stage=a.stage))


def cmd_train(a, s):
    from lmsci.train.loop import train
    from lmsci.io import jsonl_to_csv
    train(s["model"], s["train"], s["seed"], Path(a.blend), Path(a.out_dir))
    jsonl_to_csv(Path(a.out_dir) / "metrics.jsonl", Path(a.out_dir) / "metrics.csv")


def cmd_recipe(a, s):
    from lmsci.train.recipe import combine
    names = [st.name for st in s["train"].stages]
    dirs = [Path(a.stages_dir) / n for n in names]  # each stage's train dir, its blend.json inside
    combine(names, dirs, [d / "blend.json" for d in dirs], Path(a.out_dir))
    print(f"recipe: {len(names)} stages ({', '.join(names)}) -> {a.out_dir}")


def cmd_publish_checkpoints(a, _):
    from lmsci.train.publish import publish
    found = publish(Path(a.train_dir), Path(a.out_dir))
    print(f"publish-checkpoints: {len(found)} checkpoints -> {a.out_dir}")


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


def cmd_export_hf(a, _):
    from lmsci.guard import EXPORT_MARKER, check_replaceable
    check_replaceable(Path(a.out), EXPORT_MARKER, "export-hf")  # before torch loads: fail fast
    from lmsci.evaluate.export_hf import export
    export(Path(a.checkpoint), Path(a.out), Path(a.tokenizer) if a.tokenizer else None)


def cmd_import_hf(a, _):
    from lmsci.evaluate.import_hf import import_hf
    out = import_hf(Path(a.hf_dir), Path(a.out))
    print(f"import-hf: {a.hf_dir} -> {out} (lmsci checkpoint, step 0)")


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
    try:  # the Snakefile makes the same check (lmsci.config.from_workflow) and prints the same line
        C.load(*files, root=ROOT)  # before Snakemake starts: its loader would evaluate a YTE template
    except C.ConfigError as err:
        print(f"lmsci: config error: {err}", file=sys.stderr)
        return 1
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


def main(argv: list[str] | None = None) -> int:
    from lmsci.cliargs import parser  # here, not at the top: no verb's code version includes the parser

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # Snakemake's flags are not ours to parse: split them off first
        from lmsci.runargs import split
        own, rest = split(argv)
        a = parser(sys.modules[__name__]).parse_args(own)
        a.snakemake_args = rest
    else:
        a = parser(sys.modules[__name__]).parse_args(argv)
    try:
        s = C.parse_slice(a.cfg) if getattr(a, "cfg", None) else {}
        rc = a.fn(a, s)
    except (C.ConfigError, OSError, RuntimeError, ValueError) as e:
        if os.environ.get("LMSCI_DEBUG"):
            raise
        print(f"lmsci {a.verb}: error: {e} (set LMSCI_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return rc or 0
