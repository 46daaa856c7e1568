"""The CLI fails with one line that names the problem, never a bare traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def lmsci(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmsci", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0]


def test_run_rejects_bad_config_before_snakemake(tmp_path):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["model"]["num_query_groups"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    _one_line_error(lmsci("run", "--configfile", str(bad)), "model.num_query_groups")


def test_corrupt_warc_names_the_file(tmp_path):
    warc = tmp_path / "shard-00000.warc.gz"
    warc.write_bytes(b"\x1f\x8b\x08\x00" + b"not a warc at all" * 50)
    proc = lmsci("extract", "--cfg", '{"extract": {}}', "--source", "crawl", "--kind", "warc", "--input", str(warc),
                 "--out", str(tmp_path / "o.parquet"), "--dropped", str(tmp_path / "o.dropped.parquet"),
                 "--stats", str(tmp_path / "o.stats.json"))
    if proc.returncode == 0:  # a reader that recovers must still account for the garbage
        stats = yaml.safe_load((tmp_path / "o.stats.json").read_text())
        assert stats["seen"] == stats["kept"] + sum(stats["dropped"].values())
    else:
        _one_line_error(proc, str(warc))


def test_unknown_filter_is_one_line(tmp_path):
    proc = lmsci("filter", "--cfg", "{}", "--source", "crawl", "--shard", "s", "--filters", "nope",
                 "--input", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o.parquet"),
                 "--dropped", str(tmp_path / "d.parquet"), "--stats", str(tmp_path / "s.json"))
    _one_line_error(proc, "nope")


def test_bad_cfg_json_is_one_line():
    _one_line_error(lmsci("mix", "--cfg", "{not json", "--inputs", "x", "--tokenizer", "t", "--out", "o"), "--cfg")
