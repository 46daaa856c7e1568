"""Build ``reports/<run>/report.{md,html}`` from the results directory.

The report is written from files alone (ledgers, blend manifest, metrics, perplexity), so it can
be rebuilt at any time; ``provenance.json`` beside it lists what made it and the sha256 of every
artifact it describes.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from lmsci import config as C
from lmsci.io import atomic_path, read_json, write_json
from lmsci.provenance import git_state, hardware, packages, sha256_file
from lmsci.report import funnel as F
from lmsci.report import cost, plots

ARTIFACTS = ("mix/blend.json", "tokenizer/tokenizer.json", "tokens/*/*.bin", "tokens/*/*.idx",
             "tokens/*/documents.parquet", "train/checkpoint/*", "train/metrics.jsonl", "eval/perplexity.json",
             "export/hf/*")


def _metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def provenance(results: Path, config_files: list[str], out_dir: Path | None = None) -> dict:
    merged = C.merge(*(C.read_yaml(p) for p in config_files))
    artifacts = {str(p.relative_to(results)): sha256_file(p)
                 for pattern in ARTIFACTS for p in sorted(results.glob(pattern)) if p.is_file()}
    # Where `lmsci verify` finds the artifacts: as given, and relative to the report (movable together).
    where = {"results_dir": str(results)}
    if out_dir is not None:
        where["results_dir_from_report"] = os.path.relpath(Path(results).resolve(), Path(out_dir).resolve())
    return {"git": git_state(), "config_files": config_files, "config_hash": C.digest(merged), "config": merged,
            "packages": packages(), "hardware": hardware(), **where, "artifacts": artifacts}


def context(results: Path, out_dir: Path, config_files: list[str]) -> dict:
    funnel = F.collect(results)
    F.check_handover(funnel)
    rows = F.rows(funnel)
    blend = read_json(results / "mix/blend.json")
    metrics = _metrics(results / "train/metrics.jsonl")
    summary = read_json(results / "train/train_summary.json")
    ppl = read_json(results / "eval/perplexity.json")["per_source"]
    prov = provenance(results, config_files, out_dir)
    plots.loss_curve(metrics, blend["vocab_size"], out_dir / "loss.png")
    plots.funnel(rows, out_dir / "funnel.png")
    mh = C.MinHashConfig(**prov["config"].get("minhash", {}))
    plots.s_curve(mh.bands, mh.permutations // mh.bands, mh.threshold, out_dir / "s_curve.png")
    write_json(out_dir / "provenance.json", prov)
    first, last = metrics[0]["loss"], metrics[-1]["loss"]
    return {
        "run": prov["config"].get("run", out_dir.name), "funnel": rows, "blend": blend, "summary": summary,
        "ppl": dict(sorted(ppl.items())), "prov": prov, "cost": cost.projection(results), "minhash": mh, "first_loss": first, "final_loss": last,
        "ln_vocab": math.log(blend["vocab_size"]), "results": str(results),
        "commands": [f"git checkout {prov['git']['commit']}", "make venv",
                     ".venv/bin/snakemake --cores 2 --configfile " + " ".join(config_files), "# or: dvc repro",
                     f".venv/bin/lmsci verify {out_dir}    # re-hash every artifact listed in provenance.json",
                     ".venv/bin/lmsci trace --step 0 --sample 0 --position 0 --configfile " + " ".join(config_files)
                     + "    # a training token → its document, WARC record and filter verdicts"],
    }


def build(results: Path, out_dir: Path, config_files: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = context(results, out_dir, config_files)
    env = Environment(loader=PackageLoader("lmsci.report", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = lambda v: "—" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.3f}"
    for name in ("report.md", "report.html"):
        with atomic_path(out_dir / name) as tmp:
            tmp.write_text(env.get_template(name + ".j2").render(**ctx), encoding="utf-8")
