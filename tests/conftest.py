"""Shared fixtures: the repository root and the committed config as a plain dict."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lmsci import config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def _base_dict() -> dict:
    return config.read_yaml(REPO / "config.yaml")


@pytest.fixture
def base_dict(_base_dict) -> dict:
    """A fresh deep copy of config.yaml, safe to mutate."""
    return copy.deepcopy(_base_dict)


@pytest.fixture
def cfg(base_dict) -> config.Config:
    return config.from_dict(base_dict)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    """The real workflow on a tiny overlay, run in-process: Snakemake (dry run, -F) lists every job's
    `python -m lmsci` command in dependency order and each is run through ``lmsci.cli.main``, so
    the fixture follows the Snakefile as stages are added. 120 WARC records of the bundled crawl
    shard, 4 wiki articles, 30 code files → BPE (512) → 6 steps of a 2-layer model → report.
    Shared by the verify, trace and HF-export tests (≈ 20 s once per session)."""
    import contextlib
    import gzip
    import json
    import shlex
    import subprocess
    import sys

    import yaml
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from lmsci import cli

    root = tmp_path_factory.mktemp("tiny_run")
    results, data, run = root / "results", root / "data", "pytest-tiny-run"
    data.mkdir()
    shard = REPO / "data/sample/crawl/shard-00000.warc.gz"
    ends = [r.stream_pos for r in ArchiveIterator(str(shard), record_types=WarcRecordType.any_type)]
    (data / "shard-00000.warc.gz").write_bytes(shard.read_bytes()[: ends[121]])  # one gzip member per record
    for name, n in (("wiki/wiki-00000", 4), ("code/code-00000", 30)):
        with gzip.open(REPO / f"data/sample/{name}.jsonl.gz", "rb") as f:
            lines = [f.readline() for _ in range(n)]
        with gzip.open(data / f"{name.split('/')[1]}.jsonl.gz", "wb") as f:
            f.writelines(lines)
    overlay = {
        "run": run, "results": str(results),
        "sources": {s: {"paths": [str(data / f)]} for s, f in (("crawl", "shard-00000.warc.gz"),
                                                              ("wiki", "wiki-00000.jsonl.gz"),
                                                              ("code", "code-00000.jsonl.gz"))},
        "tokenizer": {"vocab_size": 512}, "split": {"valid_fraction": 0.2},
        "model": {"num_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_query_groups": 2,
                  "ffn_hidden_size": 128, "seq_length": 64},
        "train": {"steps": 6, "micro_batch_size": 2, "global_batch_size": 4, "lr": 0.003, "warmup_steps": 1,
                  "log_interval": 5},
        "evaluate": {"max_tokens": 256},
    }
    cfg_file = root / "tiny.yaml"
    cfg_file.write_text(yaml.safe_dump(overlay))
    cfg = config.load(REPO / "config.yaml", cfg_file)
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "-F", "--nolock", "--cores", "1",
                          "--configfile", "config.yaml", str(cfg_file)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    commands = [ln.split("python -m lmsci ", 1)[1] for ln in dry.stdout.splitlines() if "python -m lmsci " in ln]
    assert commands and commands[-1].startswith("report"), dry.stdout[-3000:]
    with contextlib.chdir(REPO):  # where the rules run
        for command in commands:
            argv = shlex.split(command)
            argv = argv[: argv.index(">")] if ">" in argv else argv
            argv = [str(root / a) if a.startswith("reports/") else a for a in argv]  # keep reports/ clean
            assert cli.main(argv) == 0, command
    return {"root": root, "results": results, "report": root / "reports" / run, "config_file": cfg_file,
            "config_files": [str(REPO / "config.yaml"), str(cfg_file)], "cfg": cfg,
            "blend": json.loads((results / "mix/blend.json").read_text())}
