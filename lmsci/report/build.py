"""Build ``reports/<run>/report.{md,html}`` from the results directory.

The report is written from files alone (ledgers, dropped documents, blend manifest and the blend
index training cached, metrics, perplexities per checkpoint, an optional scaling fit), so it can be
rebuilt at any time; ``provenance.json`` beside it lists what made it and the sha256 of every
artifact it describes, of its inputs outside the results directory and of its own files
(plots, report.md, report.html), all of which ``lmsci verify`` re-checks.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape

from lmsci import config as C
from lmsci.io import atomic_path, read_json, write_json
from lmsci.provenance import git_state, hardware, packages, sha256_file
from lmsci.report import artifacts, composition, cost, damage, dropped, languages, plots, stages
from lmsci.report import funnel as F

ROOT = Path(__file__).resolve().parents[2]
PLOTS = ("funnel.png", "s_curve.png", "loss.png", "training.png", "checkpoints.png", "scaling.png", "stages.png")
SAMPLES_PER_REASON, SAMPLE_CHARS = 3, 240


def _metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _hash_tree(results: Path, config_files: list[str], merged: dict, root: Path) -> dict:
    """Every output of every job that built the report, from the workflow's own DAG
    (lmsci.report.artifacts), hashed; the checkpoints among them with step and tokens seen; each verb's
    code version and the hash of every source file the config names."""
    found = artifacts.collect(results, config_files, root)
    return {**found, "checkpoints": artifacts.checkpoints(results, found["artifacts"]),
            "code_versions": artifacts.code_versions(), "data_inputs": artifacts.data_inputs(merged)}


def dvc_lock(root: Path = ROOT) -> dict | None:
    """stage → outputs (path, md5, size, files) as ``dvc.lock`` records them, or None without one."""
    path = Path(root) / "dvc.lock"
    if not path.is_file():
        return None
    lock = yaml.safe_load(path.read_text()) or {}
    return {name: [{"path": o.get("path"), "md5": o.get("md5"), "size": o.get("size"), "files": o.get("nfiles")}
                   for o in stage.get("outs", [])]
            for name, stage in sorted((lock.get("stages") or {}).items())}


def _git_remote(root: Path = ROOT) -> str:
    try:
        return subprocess.run(["git", "remote", "get-url", "origin"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(results: Path, config_files: list[str], out_dir: Path | None = None,
               extra_inputs: list[Path] = (), root: Path = ROOT) -> dict:
    config_files = list(dict.fromkeys(config_files))  # Snakemake lists config.yaml twice when it is also given
    merged = C.merge(*(C.read_yaml(p) for p in config_files))
    where = {"results_dir": str(results)}
    inputs = {}
    if out_dir is not None:
        # Where `lmsci verify` finds the artifacts: as given, and relative to the report (movable together).
        where["results_dir_from_report"] = os.path.relpath(Path(results).resolve(), Path(out_dir).resolve())
        # Inputs outside the results directory (config files, a scaling fit): as given, and from the report.
        given = [str(p) for p in [*config_files, *extra_inputs]]
        inputs = {p: sha256_file(p) for p in given}
        where["inputs_from_report"] = {p: os.path.relpath(Path(p).resolve(), Path(out_dir).resolve()) for p in given}
    return {"git": {**git_state(), "remote": _git_remote(root), "root": str(Path(root).resolve())},
            "config_files": config_files,
            "config_hash": C.digest(merged), "config": merged, "packages": packages(), "hardware": hardware(),
            **where, **_hash_tree(Path(results), config_files, merged, root), "inputs": inputs, "dvc_lock": dvc_lock(root)}


def _funnel(results: Path) -> tuple[list[dict], dict]:
    funnel = F.collect(results)
    F.check_handover(funnel)
    drops = dropped.load(results)
    tok_path = results / "tokenizer" / "tokenizer.json"
    counts = {}
    if tok_path.is_file() and drops.height:
        from lmsci.tokenize import bpe
        counts = dropped.token_counts(drops, bpe.load(tok_path))
    return F.rows(funnel, counts), dropped.samples(drops, SAMPLES_PER_REASON, SAMPLE_CHARS)


def _scaling(path: Path | None, out_dir: Path) -> dict | None:
    """The fit JSON (lmsci/scaling: params, ci, optimum, runs, …) as tables, its plot copied in as
    scaling.png (the file its ``plot`` key names, else ``<fit>.png``). Unknown keys are shown when flat."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise FileNotFoundError(f"scaling fit not found: {path}; run the sweep or leave --scaling out")
    fit = read_json(path)
    named = fit.get("plot") if isinstance(fit.get("plot"), str) else None
    plot = None
    for cand in ([Path(path).parent / named] if named else []) + [Path(path).with_suffix(".png")]:
        if cand.is_file():
            with atomic_path(out_dir / "scaling.png") as tmp:
                tmp.write_bytes(cand.read_bytes())
            plot = "scaling.png"
            break
    scalar = (int, float, str)
    is_interval = lambda v: isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)  # noqa: E731
    tables = {k: v for k, v in fit.items()
              if isinstance(v, dict) and v and all(x is None or isinstance(x, scalar) for x in v.values())}
    tables[""] = {k: v for k, v in fit.items() if isinstance(v, scalar) and k != "plot"}
    intervals = {f"{name}.{k}": x for name, v in fit.items() if isinstance(v, dict)
                 for k, x in v.items() if is_interval(x)}
    runs = [r for r in fit.get("runs", []) if isinstance(r, dict)] if isinstance(fit.get("runs"), list) else []
    columns = list(dict.fromkeys(k for r in runs for k, v in r.items() if isinstance(v, scalar)))
    return {"path": str(path), "tables": {k: v for k, v in tables.items() if v}, "intervals": intervals,
            "plot": plot, "runs": runs, "run_columns": columns}


def context(results: Path, out_dir: Path, config_files: list[str], scaling: Path | None = None,
            root: Path = ROOT) -> dict:
    results = Path(results)
    rows, samples = _funnel(results)
    blend = read_json(results / "mix/blend.json")
    metrics = _metrics(results / "train/metrics.jsonl")
    if not metrics:
        raise ValueError(f"{results}/train/metrics.jsonl has no rows; rerun the train rule")
    summary = read_json(results / "train/train_summary.json")
    ppl = read_json(results / "eval/perplexity.json")["per_source"]
    ckpt_path = results / "eval/checkpoints.json"
    evals = read_json(ckpt_path)["checkpoints"] if ckpt_path.is_file() else []
    tasks_path = results / "eval/lm_eval.json"
    tasks = dict(sorted(read_json(tasks_path).items())) if tasks_path.is_file() else {}
    fit = _scaling(scaling, out_dir)
    prov = provenance(results, config_files, out_dir, [scaling] if scaling else [], root)
    plots.loss_curve(metrics, blend["vocab_size"], out_dir / "loss.png")
    plots.training_curves(metrics, out_dir / "training.png")
    plots.funnel(rows, out_dir / "funnel.png")
    if evals:
        plots.checkpoint_perplexity(evals, out_dir / "checkpoints.png")
    mh = C.MinHashConfig(**prov["config"].get("minhash", {}))
    plots.s_curve(mh.bands, mh.permutations // mh.bands, mh.threshold, out_dir / "s_curve.png")
    configs = " ".join(prov["config_files"])
    remote = prov["git"]["remote"] or "<repository URL>"
    return {
        "run": prov["config"].get("run", out_dir.name), "funnel": rows, "samples": samples, "blend": blend,
        "mix": composition.table(blend, summary, results / "train/dataset_cache"), "summary": summary,
        "ppl": dict(sorted(ppl.items())), "evals": evals, "tasks": tasks, "eval_sources": sorted({s for e in evals for s in e["per_source"]}),
        "scaling": fit, "prov": prov, "cost": cost.projection(results), "minhash": mh,
        "stages": stages.section(results, metrics, out_dir),  # a recipe's stages side by side, else None
        "languages": languages.table(results), "damaged": damage.entries(results),
        "first_loss": metrics[0]["loss"], "final_loss": metrics[-1]["loss"],
        "ln_vocab": math.log(blend["vocab_size"]), "results": str(results),
        "commands": [f"git clone {remote} lmsci && cd lmsci", f"git checkout {prov['git']['commit']}",
                     f"make run    # or: .venv/bin/lmsci run --cores 2 --configfile {configs}",
                     f".venv/bin/snakemake --cores 2 --configfile {configs}    # the same workflow, directly",
                     "PATH=$PWD/.venv/bin:$PATH dvc repro    # or through DVC's stages (config.yaml as params)",
                     f".venv/bin/lmsci verify {out_dir}    # re-hash every artifact listed in provenance.json",
                     f".venv/bin/lmsci reproduce {out_dir} --until tokens    # rerun the commit + config in a "
                     "clean clone, compare every hash",
                     f".venv/bin/lmsci trace --step 0 --sample 0 --position 0 --configfile {configs}"
                     "    # a training token → its document, WARC record and filter verdicts"],
    }


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or paragraph: no markup, no HTML, no line breaks."""
    out = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
           .replace("\n", " "))
    return "".join("\\" + ch if ch in "\\`*_[]~" else ch for ch in out)


def _num(v) -> str:
    """Integers with thousands separators; floats to 3 decimals, or 4 significant digits when very
    large or small (FLOP budgets, parameter counts from a fit, learning rates)."""
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4g}" if v and not 1e-2 <= abs(v) < 1e6 else f"{v:,.3f}"


def build(results: Path, out_dir: Path, config_files: list[str], scaling: Path | None = None,
          root: Path = ROOT) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in PLOTS:  # a plot this build does not draw must not linger from an earlier one
        (out_dir / name).unlink(missing_ok=True)
    ctx = context(Path(results), out_dir, config_files, scaling, root)
    env = Environment(loader=PackageLoader("lmsci.report", "templates"), autoescape=select_autoescape(["html", "html.j2"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = _num
    env.filters["md"] = _md
    env.filters["yaml"] = lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
    env.filters["pct"] = lambda v, total: "—" if v is None or not total else f"{100 * v / total:.1f} %"
    for name in ("report.md", "report.html"):
        with atomic_path(out_dir / name) as tmp:
            tmp.write_text(env.get_template(name + ".j2").render(**ctx), encoding="utf-8")
    prov = ctx["prov"]
    prov["report_files"] = {name: sha256_file(out_dir / name)
                            for name in (*PLOTS, "report.md", "report.html") if (out_dir / name).is_file()}
    write_json(out_dir / "provenance.json", prov)
