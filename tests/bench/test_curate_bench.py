"""`make bench`: documents/s per core of lmsci's curation against HuggingFace datatrove 0.10.1 — the same
sample WARCs (config.yaml's crawl source), the same thresholds, one process and one core each, one run.

(a) chain — lmsci: ``extract_shard`` (fastwarc + resiliparse, in its sandbox worker process) → ``tag``
    (langid, gopher_quality, gopher_repetition, c4, fineweb and the fastText quality model that
    config.yaml lists, measured on every document) → ``filter.apply``, per shard, exactly as
    ``lmsci curate`` calls them. The quality model is trained first, untimed, the way ``lmsci curate``
    does (``lmsci.curate.chain.train_quality``: the wiki source against the crawl's documents); the
    workflow trains it once in its own rule (train_quality), so its cost is not a per-document one. datatrove: WarcReader (warcio) → extractor → LanguageFilter →
    GopherQualityFilter → GopherRepetitionFilter → C4QualityFilter → FineWebQualityFilter
    (tests/bench/datatrove_driver.py). datatrove 0.10.1 ships no resiliparse extractor, so it runs twice:
    with its Trafilatura (what it ships; FineWeb's choice) and with a resiliparse extractor making lmsci's
    call (same extractor on both sides).
(b) signatures — lmsci ``minhash.signatures`` vs datatrove ``MinhashDedupSignature`` (stage 1, its bucket
    files included; compute-only also reported) on lmsci's extracted documents, 5-grams, 14 bands x 8 hashes,
    seed 1, 32-bit hashes.

docs/s per core = documents in ÷ CPU seconds of the process and its children, on both sides: lmsci's
extraction worker and datatrove's ExtractorSandbox child are counted (``RUSAGE_CHILDREN`` deltas; a
worker is reaped before the clock is read).

Tiny mode (tests/bench/conftest.py; `make test`): one shard cut to a few records, one round each, and
datatrove only where its venv exists — the lmsci side runs either way.
datatrove runs in its own venv (.venv-bench, `make bench-env`): its fasttext-numpy2-wheel would overwrite
lmsci's fasttext-numpy2 module. Ratios (lmsci ÷ datatrove; goals: chain ≥ 10 vs datatrove as shipped and
≥ 2 with the same extractor, signatures ≥ 3) are printed and written to reports/bench/curate.json, never
asserted: the machine is shared and the numbers are reported.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from lmsci import config as C
from lmsci.crawl.extract import extract_shard, worker
from lmsci.curate import filter as filt
from lmsci.curate import langid
from lmsci.curate.chain import train_quality
from lmsci.curate.tag import sections_of, tag
from lmsci.dedup import minhash

from .conftest import REPO, report_path, tiny, truncated_warc

CFG = C.load(REPO / "config.yaml", root=REPO)
SOURCE = "crawl"
# LMSCI_BENCH_WARCS=DIR: the WARC files of DIR (*.warc.gz, *.warc) instead of the sample crawl's, e.g. a crawl
# built by scripts/build_scale_crawl.py or a Common Crawl segment (the quality model is trained on them, untimed)
OWN_WARCS = os.environ.get("LMSCI_BENCH_WARCS")
WARCS = (sorted(p for p in Path(OWN_WARCS).glob("*") if p.name.endswith((".warc.gz", ".warc"))) if OWN_WARCS
         else [REPO / p for p in CFG.sources[SOURCE].paths])[: 1 if tiny() else None]
if OWN_WARCS and not WARCS:
    pytest.exit(f"LMSCI_BENCH_WARCS={OWN_WARCS}: no .warc or .warc.gz file in that folder", returncode=4)
FILTERS = CFG.sources[SOURCE].filters
BENCH_PY = REPO / ".venv-bench" / "bin" / "python"
DRIVER = REPO / "tests" / "bench" / "datatrove_driver.py"
OUT = report_path("curate.json")
ROUNDS = 1 if tiny() else int(os.environ.get("LMSCI_BENCH_ROUNDS", "3"))
# Trafilatura is ~15x slower than resiliparse (shared/notes/materials.md): one round is minutes already.
EXTRACTORS = {"resiliparse": ROUNDS, "trafilatura": 1}
RESULTS: dict = {}
# chain vs datatrove as shipped (Trafilatura): >= 10x per core, all CPU counted (issue 10, "Done when");
# vs datatrove with lmsci's extractor (same resiliparse call on both sides): >= 2x
GOALS = {"chain_vs_datatrove_trafilatura": 10.0, "chain_vs_datatrove_resiliparse": 2.0, "signatures": 3.0}
WHAT_RUNS = {
    "lmsci_chain": "fastwarc ArchiveIterator -> resiliparse extract_plain_text(main_content=True) -> tag: langid "
                   "(lid.176.ftz, k=1), gopher_quality, gopher_repetition, c4, fineweb, quality (fastText model trained "
                   "untimed beforehand, as lmsci curate does) measured on every document in a listed language (langid "
                   "first) -> filter.apply (first failing filter); per shard, as lmsci curate; extraction in "
                   "lmsci's sandbox worker process, one per run as lmsci curate starts it (its CPU counted)",
    "datatrove_chain": "LocalPipelineExecutor(tasks=1, workers=1): WarcReader (warcio) -> Trafilatura(favour_precision, "
                       "timeout=5) | resiliparse extractor with lmsci's call, each in datatrove's ExtractorSandbox "
                       "child -> LanguageFilter(ft176 = the same lid.176.ftz, k=-1) -> GopherQualityFilter -> "
                       "GopherRepetitionFilter -> C4QualityFilter -> FineWebQualityFilter (cascade: a dropped "
                       "document is not measured further; words from spaCy's blank English tokenizer)",
    "lmsci_signatures": "minhash.signatures: NFKC/lower/whitespace-normalised word 5-grams, blake2b word hashes, "
                        "112 uint32 min-hashes -> DataFrame",
    "datatrove_signatures": "MinhashDedupSignature(n_grams=5, 14 buckets x 8 hashes, seed 1, precision 32, xxhash): "
                            "simplify_text + spaCy words -> 14 sorted, verified bucket files; compute_only = "
                            "get_shingles + get_signature without the files",
}
DIFFERENCES = [
    "heuristic filters: in impl: datatrove (config.yaml's default) each of Gopher quality, Gopher repetition, C4 "
    "and FineWeb decides as datatrove 0.10.1 does on the same text (tests/curate/test_parity.py, 100 % per filter); "
    "the kept sets still differ through the chain around them:",
    "langid: same model file and threshold; datatrove keeps if any wanted language scores > 0.65 (k=-1), "
    "lmsci if the top language is wanted with score >= 0.65",
    "c4: datatrove removes the failing lines from the text, so FineWebQualityFilter sees shorter text; lmsci "
    "measures every filter on the extracted text and leaves it unchanged",
    "cascade: datatrove measures a document only until a filter drops it; lmsci measures every filter on every "
    "document in a language langid.languages lists (re-thresholding never re-measures) and names the first "
    "failing one; a page in another language is measured by langid alone, as in datatrove",
    "trafilatura: a different extractor (other text, other boundaries), so every later count moves",
    "quality: lmsci also scores every listed-language document with the fastText quality model config.yaml lists (DCLM's "
    "classifier step); datatrove's FineWeb chain has no model-based filter, so lmsci does more work per document",
]


def fasttext_origin() -> dict:
    import fasttext

    dists = importlib.metadata.packages_distributions().get("fasttext", [])
    return {"file": fasttext.__file__, "distributions": {d: importlib.metadata.version(d) for d in dists}}


def cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) of this process and of its reaped children (the extraction worker)."""
    multiprocessing.active_children()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": own.ru_utime + own.ru_stime, "children": kids.ru_utime + kids.ru_stime}


def _timed(fn):
    c0, wall = cpu_s(), time.perf_counter()
    out = fn()
    c1 = cpu_s()
    d = {k: c1[k] - c0[k] for k in c0}
    return out, d["self"] + d["children"], time.perf_counter() - wall, d["children"]


def _extract(path, sandbox=None):
    """(documents, ledger) of one shard, whether extract_shard returns (docs, ledger) or the stage
    contract's (kept, dropped, ledger)."""
    res = extract_shard(SOURCE, path, CFG.extract, sandbox)
    return res[0], res[-1]


def lmsci_chain(warcs: list, quality_model) -> dict:
    """One run over the shards, as ``lmsci curate`` makes it: one extraction worker for all of them."""
    with worker(CFG.extract) or contextlib.nullcontext() as sandbox:
        return _chain(warcs, quality_model, sandbox)


def _chain(warcs: list, quality_model, sandbox) -> dict:
    records, kept, reasons, urls = 0, 0, {}, []
    for path in warcs:
        docs, led = _extract(path, sandbox)
        tagged, _ = tag(docs, FILTERS, SOURCE, path.name, quality_model, sections_of(CFG, FILTERS))
        ok, dropped, _ = filt.apply(tagged, FILTERS, CFG, SOURCE, path.name)
        records, kept, urls = records + led.seen, kept + ok.height, urls + ok["url"].to_list()
        for reason, n in [*led.dropped.items(), *((r, 1) for r in dropped["reason"])]:
            reasons[reason] = reasons.get(reason, 0) + n
    return {"records": records, "kept": kept, "reasons": dict(sorted(reasons.items())), "kept_urls": sorted(urls)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    """The WARCs in one folder (datatrove reads folders; tiny mode: one shard cut to a few records),
    lmsci's extracted documents as JSONL, and the quality model trained on them (untimed)."""
    tmp = tmp_path_factory.mktemp("curate-bench")
    (tmp / "warcs").mkdir()
    docs, warcs = [], []
    for path in WARCS:
        dest = tmp / "warcs" / path.name
        truncated_warc(path, dest) if tiny() else dest.symlink_to(path)
        warcs.append(dest)
        docs.append(_extract(dest)[0])
    model = None
    if "quality" in FILTERS:
        model = train_quality(docs, CFG, tmp / "quality" / "model.bin", REPO)
    docs = pl.concat([d.select("id", "text") for d in docs])
    docs.write_ndjson(tmp / "docs.jsonl")
    return {"warc_dir": str(tmp / "warcs"), "docs_jsonl": str(tmp / "docs.jsonl"), "docs": docs, "warcs": warcs,
            "quality_model": model}


@pytest.fixture(scope="module")
def datatrove(sample) -> dict | None:
    if not BENCH_PY.exists():
        if tiny():
            return None  # the lmsci side still runs; the peer needs `make bench-env`
        pytest.skip("datatrove's venv is missing: run `make bench-env` (make bench does)")
    job = {"warc_dir": sample["warc_dir"], "docs_jsonl": sample["docs_jsonl"], "lid_model": str(langid.model_path()),
           "cfg": C.to_dict(CFG), "rounds": ROUNDS, "extractors": EXTRACTORS}
    proc = subprocess.run([str(BENCH_PY), str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          cwd=REPO, timeout=3600)
    assert proc.returncode == 0, f"datatrove driver failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def _rate(docs: int, runs: list[dict], cpu: str = "cpu_s", wall: str = "wall_s") -> dict:
    return {"docs": docs, "rounds": len(runs), "cpu_s": statistics.median(r[cpu] for r in runs),
            **({"children_cpu_s": statistics.median(r["children_cpu_s"] for r in runs)}
               if all("children_cpu_s" in r for r in runs) else {}),
            "wall_s": statistics.median(r[wall] for r in runs),
            "docs_per_cpu_s": docs / statistics.median(r[cpu] for r in runs),
            "docs_per_wall_s": docs / statistics.median(r[wall] for r in runs)}


def test_chain_docs_per_core(benchmark, datatrove, sample):
    langid._model()  # the model load is once per process, as in a long-running task
    runs, out = [], {}

    def once():
        res, cpu, wall, kids = _timed(lambda: lmsci_chain(sample["warcs"], sample["quality_model"]))
        runs.append({"cpu_s": cpu, "wall_s": wall, "children_cpu_s": kids})
        out.update(res)

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    assert runs and out["records"] > 0, "the chain read no record"
    assert out["kept"] + sum(out["reasons"].values()) == out["records"], "every record kept or dropped with a reason"
    if CFG.extract.timeout_s > 0:  # extraction ran in the sandbox worker: its CPU must be in the figure
        assert all(r["children_cpu_s"] > 0 for r in runs), "the extraction worker's CPU was not counted"
    lm = _rate(out["records"], runs)
    # Round 1 starts with empty per-process word caches (spaCy-replay chunks, n-gram word hashes), as a
    # `lmsci tag` job on one shard does; later rounds reuse them, as datatrove's spaCy tokenizer cache is reused.
    lm["cpu_s_per_round"] = [round(r["cpu_s"], 3) for r in runs]
    RESULTS["chain"] = {"lmsci": {**lm, "kept": out["kept"], "reasons": out["reasons"]}}
    kept_lm = set(out["kept_urls"])
    for ext, dt_runs in (datatrove or {}).get("chain", {}).items():
        dt = _rate(dt_runs[0]["records"], dt_runs)
        kept_dt = set(dt_runs[0]["kept_urls"])
        RESULTS["chain"][f"datatrove_{ext}"] = {
            **dt, "kept": dt_runs[0]["kept"], "steps": dt_runs[0]["steps"],
            "kept_overlap": {"both": len(kept_lm & kept_dt), "only_lmsci": len(kept_lm - kept_dt),
                             "only_datatrove": len(kept_dt - kept_lm)},
            "ratio_cpu": lm["docs_per_cpu_s"] / dt["docs_per_cpu_s"],
            "ratio_wall": lm["docs_per_wall_s"] / dt["docs_per_wall_s"]}
        benchmark.extra_info[f"ratio_vs_datatrove_{ext}"] = round(RESULTS["chain"][f"datatrove_{ext}"]["ratio_cpu"], 3)
    benchmark.extra_info["lmsci_docs_per_cpu_s"] = round(lm["docs_per_cpu_s"], 1)
    _report(datatrove)


def test_minhash_signatures_docs_per_core(benchmark, datatrove, sample):
    df, runs, out = sample["docs"], [], {}

    def once():
        sigs, cpu, wall, _ = _timed(lambda: minhash.signatures(df, CFG.minhash))
        runs.append({"cpu_s": cpu, "wall_s": wall})
        out["signed"] = sigs.height

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    assert 0 < out["signed"] <= df.height
    lm = _rate(df.height, runs)
    if datatrove is None:
        RESULTS["signatures"] = {"lmsci": {**lm, "signed": out["signed"]}, "minhash": C.to_dict(CFG.minhash)}
        _report(datatrove)
        return
    dt = _rate(df.height, datatrove["signatures"])
    dt_compute = _rate(df.height, datatrove["signatures"], "compute_cpu_s", "compute_wall_s")
    RESULTS["signatures"] = {
        "lmsci": {**lm, "signed": out["signed"]},
        "datatrove_stage": {**dt, "signed": datatrove["signatures"][0]["signed"]},
        "datatrove_compute_only": dt_compute,
        "ratio_cpu": lm["docs_per_cpu_s"] / dt["docs_per_cpu_s"],
        "ratio_wall": lm["docs_per_wall_s"] / dt["docs_per_wall_s"],
        "ratio_cpu_vs_compute_only": lm["docs_per_cpu_s"] / dt_compute["docs_per_cpu_s"],
        "minhash": C.to_dict(CFG.minhash)}
    benchmark.extra_info["ratio_vs_datatrove"] = round(RESULTS["signatures"]["ratio_cpu"], 3)
    _report(datatrove)


def _report(datatrove: dict | None) -> None:
    """Write reports/bench/curate.json with whatever has been measured so far; print the table at the end."""
    ratios = {}
    if "chain" in RESULTS:
        ratios["chain_vs_datatrove_trafilatura"] = RESULTS["chain"].get("datatrove_trafilatura", {}).get("ratio_cpu")
        ratios["chain_vs_datatrove_resiliparse"] = RESULTS["chain"].get("datatrove_resiliparse", {}).get("ratio_cpu")
    if "signatures" in RESULTS:
        ratios["signatures"] = RESULTS["signatures"].get("ratio_cpu")
    report = {
        "unit": "documents per CPU-second of one process (docs/s per core); ratios are lmsci / datatrove",
        "what_runs": WHAT_RUNS, "kept_count_differences": DIFFERENCES,
        "goals": GOALS, "ratios": ratios,
        "environment": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "python": sys.version.split()[0],
                        "lmsci_fasttext": fasttext_origin(), "tiny": tiny(),
                        "datatrove": (datatrove or {}).get("datatrove", "absent (no .venv-bench)"),
                        "datatrove_fasttext": (datatrove or {}).get("fasttext", {"distributions": {}}),
                        "rounds": ROUNDS, "extractor_rounds": EXTRACTORS,
                        "warcs": [str(p) for p in WARCS] if OWN_WARCS else "config.yaml's crawl source (the sample)"},
        **{k: _strip(v) for k, v in RESULTS.items()}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    RESULTS["_report"] = report


def _strip(d: dict) -> dict:
    return {k: _strip(v) if isinstance(v, dict) else v for k, v in d.items() if k != "kept_urls"}


def table(report: dict) -> list[str]:
    env = report["environment"]
    lines = [f"curation benchmark (docs/s per core = docs / process CPU s; wall in brackets; load avg "
             f"{env['load_avg_1m']:.1f} on {env['cpus']} cores) -> {OUT}",
             f"  fasttext: lmsci {env['lmsci_fasttext']['distributions']}, "
             f"datatrove {env['datatrove_fasttext']['distributions']}"]
    row = "  {:<44} {:>6} {:>10} {:>10} {:>6}"
    lines.append(row.format("", "docs", "docs/cpu-s", "(wall)", "kept"))
    for name, key in (("chain", "chain"), ("signatures", "signatures")):
        for side, r in report.get(key, {}).items():
            if isinstance(r, dict) and "docs_per_cpu_s" in r:
                lines.append(row.format(f"{name}: {side}", r["docs"], f"{r['docs_per_cpu_s']:.1f}",
                                        f"({r['docs_per_wall_s']:.1f})", r.get("kept", r.get("signed", ""))))
    goal = report["goals"]
    for k, v in report["ratios"].items():
        if v is not None:
            lines.append(f"  ratio {k}: {v:.2f}x (goal >= {goal[k]:.0f}x)")
    chain = report.get("chain", {})
    if "lmsci" in chain:
        lines.append(f"  lmsci drops (first failing filter): {chain['lmsci']['reasons']}")
    for side, r in chain.items():
        if "kept_overlap" in r:
            drops = {s["name"].split(": ")[-1]: s.get("dropped", 0) for s in r["steps"][1:]}
            lines.append(f"  {side} drops per step (cascade): {drops}")
            lines.append(f"  kept documents (by URL), lmsci vs {side}: {r['kept_overlap']}")
    return lines


def pytest_terminal_summary_lines() -> list[str]:
    return table(RESULTS["_report"]) if "_report" in RESULTS else []


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    class Summary:  # a plugin registered here rather than in conftest.py (the training benchmark's)
        @staticmethod
        def pytest_terminal_summary(terminalreporter):
            for line in pytest_terminal_summary_lines():
                terminalreporter.write_line(line)

    if not request.config.pluginmanager.has_plugin("lmsci-curate-bench-summary"):
        request.config.pluginmanager.register(Summary(), "lmsci-curate-bench-summary")
    yield


def test_datatrove_peer_ran(datatrove):
    """The peer's side: skipped with one line where .venv-bench is absent (a bare CI machine); lmsci's side
    above runs either way."""
    if datatrove is None:
        pytest.skip("datatrove's venv (.venv-bench) is missing: peer side not run (`make bench-env` installs it)")
    assert datatrove["chain"] and all(r["records"] > 0 for runs in datatrove["chain"].values() for r in runs)
    assert datatrove["signatures"] and datatrove["signatures"][0]["signed"] > 0
