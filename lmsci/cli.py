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
    df, led = tag(pl.read_parquet(a.input), filters, a.source, a.shard)
    write_parquet(a.out, df)
    led.write(a.stats)


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
    df = pl.concat([pl.read_parquet(p, columns=["id", "text"]) for p in a.inputs])
    lineage, led = encode_source(df, bpe.load(a.tokenizer), a.source, Path(a.out_dir), s["seed"],
                                 s["split"].valid_fraction)
    write_parquet(Path(a.out_dir) / "documents.parquet", lineage)
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
    train(s["model"], s["train"], s["seed"], Path(a.blend), Path(a.out_dir))


def cmd_evaluate(a, s):
    from lmsci.evaluate.perplexity import perplexity
    perplexity(s["model"], s["train"], Path(a.blend), Path(a.checkpoint), s["evaluate"].max_tokens, Path(a.out))


def cmd_report(a, s):
    from lmsci.report.build import build
    build(Path(a.results), Path(a.out_dir), a.config_files)


def cmd_run(a, _):
    files = a.configfile or ["config.yaml"]
    C.load(*files, root=ROOT)  # fail here, in one line, before Snakemake starts anything
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(ROOT),
           "--cores", str(a.cores), "--configfile", *files, "--rerun-incomplete", *a.snakemake_args]
    # The rules call `python -m lmsci`: this interpreter's environment comes first on PATH.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return subprocess.call(cmd, env=env)


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
            sp.add_argument(arg, **({"nargs": "+"} if arg in ("--inputs", "--config-files") else {}), required=True)
        return sp

    verb("extract", cmd_extract, "--source", "--kind", "--input", "--out", "--stats")
    verb("tag", cmd_tag, "--source", "--shard", "--filters", "--input", "--out", "--stats")
    verb("filter", cmd_filter, "--source", "--shard", "--filters", "--input", "--out", "--dropped", "--stats")
    verb("dedup-exact", cmd_dedup_exact, "--source", "--inputs", "--out", "--dropped", "--stats")
    verb("train-tokenizer", cmd_train_tokenizer, "--inputs", "--out")
    verb("tokenize", cmd_tokenize, "--source", "--inputs", "--tokenizer", "--out-dir")
    verb("mix", cmd_mix, "--inputs", "--tokenizer", "--tokens-dir", "--out")
    verb("train", cmd_train, "--blend", "--out-dir")
    verb("evaluate", cmd_evaluate, "--blend", "--checkpoint", "--out")
    verb("report", cmd_report, "--results", "--out-dir", "--config-files")
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
