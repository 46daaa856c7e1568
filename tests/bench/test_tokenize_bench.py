"""`make bench`: tokenization speed — MB/s and tokens/s per core of lmsci's encoder against HF
``tokenizers`` ``encode_batch`` and datatrove 0.10.1's ``MegatronDocumentTokenizer``, on the same text
with the same tokenizer.json, identical token ids asserted, ratios reported (never asserted).

Text: every document of config.yaml's sources (the sample crawl's extracted pages, the Wikipedia
excerpt, the standard-library code); tiny mode (`make test`): one crawl shard cut to a few records
and the first documents of the others. Tokenizer: trained on that text with config.yaml's tokenizer
section, as the workflow's train_tokenizer rule does (lmsci.tokenize.bpe).

* ``tokenizers.encode_batch`` — ``Tokenizer.encode_batch(texts)``, its own thread pool (the per-core
  figure divides by the CPU seconds of all its threads).
* ``lmsci`` — ``lmsci.tokenize.fast.encode_batch``: gigatoken on the calling thread when it reproduces
  the ids (else tokenizers itself); ``lmsci_stage`` adds the EOD id and megatron's
  ``IndexedDatasetBuilder`` (.bin/.idx), the work datatrove's step does.
* ``datatrove_stage`` — ``MegatronDocumentTokenizer(tokenizer_name_or_path=tokenizer.json,
  eos_token=<|endoftext|>)`` in .venv-bench (tests/bench/datatrove_driver.py): encode_batch + EOS +
  .bin/.idx; its .bin is read back here and compared id for id.

per core = bytes (or tokens) ÷ CPU seconds (user + system) of the process, all threads included.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from tokenizers import Tokenizer

from lmsci import config as C
from lmsci.crawl.extract import extract_shard
from lmsci.crawl.jsonl import read_shard
from lmsci.tokenize import bpe, fast, indexed

from .conftest import REPO, report_path, tiny, truncated_warc

CFG = C.load(REPO / "config.yaml", root=REPO)
BENCH_PY = REPO / ".venv-bench" / "bin" / "python"
DRIVER = REPO / "tests" / "bench" / "datatrove_driver.py"
ROUNDS = 1 if tiny() else int(os.environ.get("LMSCI_BENCH_ROUNDS", "3"))
TINY_DOCS = 8  # documents per JSONL source in tiny mode
GOAL = 2.0     # lmsci / tokenizers.encode_batch, per core (issue 9)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn, rounds: int = ROUNDS) -> tuple[object, dict]:
    runs, out = [], None
    for _ in range(rounds):
        c, w = _cpu(), time.perf_counter()
        out = fn()
        runs.append((_cpu() - c, time.perf_counter() - w))
    return out, {"cpu_s": statistics.median(r[0] for r in runs), "wall_s": statistics.median(r[1] for r in runs),
                 "rounds": rounds}


def corpus(tmp: Path) -> list[str]:
    texts = []
    for name, src in sorted(CFG.sources.items()):
        for path in src.paths[: 1 if tiny() else None]:
            path = REPO / path
            if src.kind == "warc":
                path = truncated_warc(path, tmp / path.name) if tiny() else path
                docs = extract_shard(name, path, CFG.extract)[0]
            else:
                docs = read_shard(name, path)[0]
                docs = docs.head(TINY_DOCS) if tiny() else docs
            texts += docs.sort("id")["text"].to_list()
    return texts


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("tokenize-bench")
    texts = corpus(tmp)
    tok_path = tmp / "tokenizer.json"
    bpe.save(bpe.train(texts, CFG.tokenizer), tok_path)
    pl.DataFrame({"id": [f"d{i:07d}" for i in range(len(texts))], "text": texts}).write_ndjson(tmp / "docs.jsonl")
    return {"tmp": tmp, "texts": texts, "tok_path": tok_path, "docs_jsonl": tmp / "docs.jsonl",
            "mb": sum(len(t.encode()) for t in texts) / 1e6}


def datatrove_stage(setup: dict) -> dict | None:
    if not BENCH_PY.exists():
        return None
    job = {"tokenize": {"docs_jsonl": str(setup["docs_jsonl"]), "tokenizer": str(setup["tok_path"]),
                        "eos_token": bpe.EOD, "rounds": ROUNDS, "workdir": str(setup["tmp"] / "datatrove")}}
    proc = subprocess.run([str(BENCH_PY), str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          cwd=REPO, timeout=3600)
    assert proc.returncode == 0, f"datatrove driver failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def _rates(mb: float, tokens: int, docs: int, t: dict) -> dict:
    return {**t, "docs": docs, "tokens": tokens, "mb": round(mb, 3), "mb_per_cpu_s": mb / t["cpu_s"],
            "tokens_per_cpu_s": tokens / t["cpu_s"], "mb_per_wall_s": mb / t["wall_s"]}


def test_tokenize_mb_per_core(benchmark, setup):
    texts, tok_path, mb = setup["texts"], setup["tok_path"], setup["mb"]
    hf = Tokenizer.from_file(str(tok_path))
    eod, vocab = bpe.eod_id(hf), hf.get_vocab_size()
    fast.encode_batch(tok_path, texts[:4])  # load (and probe) once per process, as a long-running job does
    out: dict = {}

    def once():
        out["hf"], out["t_hf"] = _timed(lambda: [e.ids for e in hf.encode_batch(texts)])
        out["lm"], out["t_lm"] = _timed(lambda: fast.encode_batch(tok_path, texts))
        prefix = setup["tmp"] / "lmsci" / "train"
        out["n"], out["t_stage"] = _timed(lambda: indexed.write(
            prefix, (ids + [eod] for ids in fast.encode_batch(tok_path, texts)), vocab))

    benchmark.pedantic(once, rounds=1, iterations=1)
    assert out["lm"] == out["hf"], "lmsci's encoder gave other ids than tokenizers.encode_batch"
    assert out["n"] == len(texts)
    tokens = sum(map(len, out["hf"]))
    res = {"tokenizers_encode_batch": _rates(mb, tokens, len(texts), out["t_hf"]),
           "lmsci": {**_rates(mb, tokens, len(texts), out["t_lm"]), **fast.backend(tok_path)},
           "lmsci_stage": _rates(mb, tokens + len(texts), len(texts), out["t_stage"])}
    dt = datatrove_stage(setup)
    if dt is not None:
        from megatron.core.datasets.indexed_dataset import IndexedDataset

        run = dt["tokenize"][-1]
        ds = IndexedDataset(run["prefix"])
        assert len(ds) == len(texts)
        assert all(ds[i].tolist() == out["hf"][i] + [eod] for i in range(len(texts))), \
            "datatrove's .bin holds other ids than lmsci's encoder"
        t = {"cpu_s": statistics.median(r["cpu_s"] for r in dt["tokenize"]),
             "wall_s": statistics.median(r["wall_s"] for r in dt["tokenize"]), "rounds": len(dt["tokenize"])}
        res["datatrove_stage"] = {**_rates(mb, tokens + len(texts), len(texts), t), "datatrove": dt["datatrove"],
                                  "tokenizers": dt["tokenizers"]}
    ratios = {"lmsci_vs_encode_batch": res["lmsci"]["mb_per_cpu_s"] / res["tokenizers_encode_batch"]["mb_per_cpu_s"]}
    if "datatrove_stage" in res:
        ratios["lmsci_stage_vs_datatrove_stage"] = (res["lmsci_stage"]["mb_per_cpu_s"]
                                                    / res["datatrove_stage"]["mb_per_cpu_s"])
    benchmark.extra_info.update({k: round(v, 2) for k, v in ratios.items()})
    report = {"unit": "MB (UTF-8) and tokens per CPU-second of the process, all threads (per core); "
                      "ratios lmsci / peer", "goal": {"lmsci_vs_encode_batch": GOAL}, "ratios": ratios,
              "identical_ids": True, "tokenizer": {**C.to_dict(CFG.tokenizer), "vocab_size_trained": vocab},
              "environment": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
                              "python": sys.version.split()[0], "tiny": tiny()}, **res}
    path = report_path("tokenize.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    _SUMMARY[:] = [f"tokenization ({mb:.1f} MB, {len(texts)} docs, {tokens:,} tokens; per core) -> {path}"]
    for name, r in res.items():
        _SUMMARY.append(f"  {name:<24} {r['mb_per_cpu_s']:8.2f} MB/cpu-s {r['tokens_per_cpu_s']:12,.0f} tokens/cpu-s"
                        f"  ({r['mb_per_wall_s']:.2f} MB/s wall)")
    _SUMMARY.extend(f"  ratio {k}: {v:.2f}x" for k, v in ratios.items())


def test_datatrove_peer_available():
    """One line in the summary where the peer's venv is absent; the lmsci and tokenizers sides run anyway."""
    if not BENCH_PY.exists():
        pytest.skip("datatrove's venv (.venv-bench) is missing: MegatronDocumentTokenizer not compared "
                    "(`make bench-env` installs it)")


_SUMMARY: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    class Summary:
        @staticmethod
        def pytest_terminal_summary(terminalreporter):
            for line in _SUMMARY:
                terminalreporter.write_line(line)

    if not request.config.pluginmanager.has_plugin("lmsci-tokenize-bench-summary"):
        request.config.pluginmanager.register(Summary(), "lmsci-tokenize-bench-summary")
    yield
