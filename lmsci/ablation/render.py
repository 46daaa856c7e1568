"""The ablation report's text: one list of sections (title, paragraphs, tables), written as Markdown and as
HTML from the same rows, every crawled or configured string escaped for its format."""
from __future__ import annotations

import html

from lmsci.ablation import variants as V
from lmsci.io import atomic_path


def _f(v, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:+.{digits}f}" if digits < 0 else f"{v:.{digits}f}"


def _g(v: float, sign: str = "") -> str:
    """Scores to 4 decimals; a large one (lm-eval's word perplexity) to 4 significant digits."""
    return f"{v:{sign}.4g}" if abs(v) >= 1000 else f"{v:{sign}.4f}"


def _d(v) -> str:
    return "—" if v is None else f"{v:+.4f}"


def sections(ctx: dict) -> list[tuple[str, list[str], list[list[list[str]]]]]:
    cfg, res, ab = ctx["cfg"], ctx["result"], ctx["cfg"].ablation
    level = f"{100 * ab.ci_level:g} %"
    out = []
    verdict = [["variant", "loss (nats/token, mean of seeds)", "per seed", f"Δ vs baseline [{level} CI]",
                "Δ per seed pair", "verdict"]]
    for n, r in res.items():
        verdict.append([n, _f(r["loss"]), ", ".join(_f(x) for x in r["loss_seeds"]),
                        "—" if n == V.BASELINE else f"{_d(r['delta'])} [{_d(r['ci'][0])}, {_d(r['ci'][1])}]",
                        "—" if n == V.BASELINE else ", ".join(_d(x) for x in r["seed_deltas"]),
                        r.get("verdict", "(the reference)")])
    docs = sum(v["documents"] for v in ctx["eval"]["valid"])
    toks = sum(v["tokens"] for v in ctx["eval"]["valid"])
    out.append(("Verdict", [
        f"Every variant trains the same model ({cfg.model.num_layers} layers × {cfg.model.hidden_size}) on the same "
        f"{ctx['budget']:,} tokens (train.steps × global_batch_size × seq_length), seeds {ab.seeds}, and is scored on "
        f"one evaluation set: {docs:,} documents ({toks:,} tokens) held out of the shared extraction by a seeded hash "
        "of their id, before any filter, and removed from every variant's training data (by id and by shared "
        f"{cfg.decontam.ngram}-grams).",
        "Δ = loss(variant) − loss(baseline), negative is better. CI: paired bootstrap over evaluation documents "
        f"pooled over seeds ({ab.resamples:,} resamples; a document's loss is its mean over the seeds). A verdict "
        "says better or worse only when the CI excludes zero and every seed pair agrees in sign. The document "
        "bootstrap does not see seed-to-seed variance (the Δ per seed pair column does): with two seeds, a "
        "verdict whose seed pairs differ by more than the effect is weak evidence.",
        "Caveat: the evaluation documents are raw extracted pages (what a crawl holds, junk included), so a "
        "variant that keeps more junk can look better on them; per-source rows below and lm-eval say more."],
        [verdict]))
    out.append(("What each variant changes and reruns", [f"{n}: {o}" for n, o in ctx["overlays"].items()]
                + ctx["plan"], []))
    fun = [["variant", *(f"{s} kept" for s in ("extract", "filter", "pii", "dedup", "minhash")),
            "training documents", "tokens available", "evaluation docs removed", "near-duplicates removed"]]
    for r in ctx["funnel"]:
        fun.append([r["variant"], *(_f(r[s]) for s in ("extract", "filter", "pii", "dedup", "minhash")),
                    _f(r["tokens"]), _f(r["train_tokens"]), _f(r["heldout"]), _f(r["contaminated"])])
    srcs = sorted(ctx["cfg"].sources)
    tok = [["variant", *srcs]] + [[r["variant"], *(_f(r["per_source_tokens"][s]) for s in srcs)] for r in ctx["funnel"]]
    mix = [["variant", *(f"{s}: requested tokens (epochs)" for s in srcs)]]
    for n, rows in ctx["mix"].items():
        by = {r["source"]: r for r in rows}
        mix.append([n, *(f"{by[s]['requested_tokens']:,} ({by[s]['epochs']:g})" for s in srcs)])
    out.append(("Funnel, side by side", ["Documents kept after each stage (all sources), then what training "
                                         "can draw on; below, tokens available per source, and the mix each "
                                         "variant trains on (its weights × the one token budget)."], [fun, tok, mix]))
    per = [["variant", *(f"{s} (mean [min, max] over seeds)" for s in srcs)]]
    for n, r in res.items():
        per.append([n, *(f"{r['per_source'][s]['mean']:.4f} [{r['per_source'][s]['min']:.4f}, "
                         f"{r['per_source'][s]['max']:.4f}]" if s in r["per_source"] else "—" for s in srcs)])
    out.append(("Loss per source on the evaluation set", ["nats/token"], [per]))
    if ctx["lm_eval"]:
        t = [["task", "metric", "variant", "mean over seeds", "[min, max]", "Δ vs baseline"]]
        t += [[r["task"], r["metric"], r["variant"], _g(r["mean"]), f"[{_g(r['min'])}, {_g(r['max'])}]",
               "—" if r["delta"] is None else _g(r["delta"], "+")] for r in ctx["lm_eval"]]
        out.append(("lm-eval (local tasks from the evaluation set)", [
            f"lmsci_cloze and lmsci_choice (lmsci.evaluate.tasks) built from the evaluation set, "
            f"{cfg.evaluate.lm_eval_limit or 'all'} items per task; spread over seeds, no CI (per-item results "
            "are not kept)."], [t]))
    out.append(("Loss curves", ["![training loss per variant](loss.png) — training loss on each variant's own "
                                "data (not comparable across variants; the verdict uses the evaluation set)."], []))
    c = [["variant", "jobs", "wall s", "CPU s", "CPU hours", "peak RSS MiB"]]
    c += [[r["who"], _f(r["jobs"]), f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['cpu_s'] / 3600:.4f}",
           f"{r['max_rss_mb']:.0f}"] for r in ctx["cost"]]
    out.append(("Measured cost per variant", [
        "Snakemake's benchmark files of the jobs each variant ran itself (results/ablation/benchmarks); the "
        "baseline's curation is the run's own (results/benchmarks), shared by every variant, not counted here. "
        "cpu_time is sampled: a lower bound for jobs of a few seconds."], [c]))
    p = ctx["prov"]
    out.append(("Provenance", [
        f"git {p['git']['commit']} (dirty: {p['git']['dirty']}), config hash {p['config_hash']}, config files "
        f"{', '.join(p['config_files'])}; {len(p['artifacts']):,} artifacts hashed in provenance.json.",
        "Check: `.venv/bin/lmsci verify reports/ablation`; rerun: `make ablation`."], []))
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(secs) -> str:
    lines = ["# Data ablation", ""]
    for title, paras, tables in secs:
        lines += [f"## {title}", ""]
        for p in paras:
            lines += [p, ""]
        for t in tables:
            lines += ["| " + " | ".join(map(_md, t[0])) + " |", "|" + "---|" * len(t[0])]
            lines += ["| " + " | ".join(map(_md, row)) + " |" for row in t[1:]]
            lines.append("")
    return "\n".join(lines)


def to_html(secs) -> str:
    e = html.escape
    body = ["<h1>Data ablation</h1>"]
    for title, paras, tables in secs:
        body.append(f"<h2>{e(title)}</h2>")
        for p in paras:
            if p.startswith("!["):
                body.append('<p><img src="loss.png" alt="training loss per variant"></p>')
                p = p.split(")", 1)[1].lstrip(" —")
            body.append(f"<p>{e(p)}</p>")
        for t in tables:
            head = "".join(f"<th>{e(c)}</th>" for c in t[0])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}td:first-child{text-align:left}")
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Data ablation</title><style>{style}</style>"
            f"</head><body>{''.join(body)}</body></html>\n")


def render(ctx: dict, out_dir) -> None:
    secs = sections(ctx)
    with atomic_path(out_dir / "report.md") as tmp:
        tmp.write_text(markdown(secs), encoding="utf-8")
    with atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(to_html(secs), encoding="utf-8")
