"""The report built from the small fixture tree: every section there, numbers from the inputs,
hostile text escaped, choices deterministic, and `lmsci verify` covering every file it lists."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import yaml
from PIL import Image

from lmsci.report import dropped
from lmsci.report.build import build
from lmsci.report.verify import verify
from lmsci.tokenize import bpe

REPO = Path(__file__).resolve().parents[2]


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _verify_lines(report: Path) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-m", "lmsci", "verify", str(report)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    return proc.returncode, [ln for ln in proc.stdout.splitlines() if not ln.startswith("verify:")]


def test_sections_and_numbers(shared_report):
    fixture_report = shared_report
    md = (fixture_report["out"] / "report.md").read_text()
    html = (fixture_report["out"] / "report.html").read_text()
    for heading in ("Provenance", "Data funnel", "Samples of dropped documents", "Mix: requested vs realised",
                    "Training", "Validation perplexity per source", "Scaling fit", "Reproduce", "Artifacts"):
        assert f"## {heading}" in md or f"### {heading}" in md, heading
        assert f">{heading}</h" in html, heading
    prov = json.loads((fixture_report["out"] / "provenance.json").read_text())
    assert f"`{prov['git']['commit']}`" in md and prov["config_hash"] in md and "torch " in md
    assert prov["config_files"] == fixture_report["config_files"]
    assert "No `dvc.lock`" in md and "No sweep in this run." in md
    # tokens of the stored drops, counted here with the fixture's tokenizer
    tok = bpe.load(fixture_report["results"] / "tokenizer/tokenizer.json")
    drops = pl.read_parquet(fixture_report["results"] / "filter/crawl/s0.dropped.parquet")
    langid = sum(len(tok.encode(t).ids) for t, r in zip(drops["text"], drops["reason"]) if r == "langid/low_score")
    assert f"| crawl | filter | langid/low_score | 2 | 22.2 % | 200 | {langid:,} |" in md
    kept = 440 - 5  # tokens the tokenize ledger wrote, less one EOD per document
    assert f"| crawl | tokenize | 5 | 5 | 500 | 500 | {kept:,} | {kept:,} |" in md
    assert "| crawl | extract | 10 | 9 | 1,000 | 900 | — |" in md  # the extraction drop has no text
    # realised mix: the fixture has no blend index cached, which the report says
    assert "realised counts unknown" in md
    # one row per checkpoint, perplexity per source
    steps = re.findall(r"^\| (\d+) \| `checkpoints/step_\d+` \|", md, flags=re.M)
    assert steps == ["0", "1", "2", "4", "8"]
    commands = md.split("## Reproduce")[1]
    for c in (f"git checkout {prov['git']['commit']}", "make run", "dvc repro", "--configfile " +
              " ".join(fixture_report["config_files"]), f"lmsci verify {fixture_report['out']}"):
        assert c in commands, c


def test_dropped_text_is_escaped_in_both_formats(shared_report):
    fixture_report = shared_report
    md = (fixture_report["out"] / "report.md").read_text()
    html = (fixture_report["out"] / "report.html").read_text()
    assert "<script>" not in md and "<script>" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    line = next(ln for ln in md.splitlines() if "alert" in ln)
    assert "&lt;script&gt;" in line and "&#124; pipe" in line and r"\*\*bold\*\*" in line and r"\`tick\`" in line
    assert "|" not in line.split(":", 2)[-1]  # nothing that would open a table cell


def test_samples_are_deterministic_and_cover_each_reason(fixture_results):
    df = dropped.load(fixture_results["results"])
    a, b = dropped.samples(df, 1, 40), dropped.samples(df.reverse(), 1, 40)
    assert a == b and set(a) == {"langid/low_score", "c4/curly_bracket", "dedup_exact/duplicate"}
    assert all(len(d["excerpt"]) <= 42 for docs in a.values() for d in docs)  # 40 characters and " …"
    many = pl.DataFrame({"id": [f"crawl/s{i % 3}/{i:012d}" for i in range(30)], "url": [""] * 30,
                         "reason": ["c4/few_sentences"] * 30, "text": [f"doc {i}" for i in range(30)],
                         "stage": ["filter"] * 30, "source": ["crawl"] * 30})
    picked = [d["id"] for d in dropped.samples(many, 3)["c4/few_sentences"]]
    by_hash = sorted(many["id"], key=lambda i: hashlib.sha256(f"0:{i}".encode()).hexdigest())[:3]
    assert picked == by_hash and picked != sorted(many["id"])[:3]  # spread, not the first shard's


def test_rebuild_is_identical(fixture_report):
    out = fixture_report["out"]
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    build(fixture_report["results"], out, fixture_report["config_files"], root=fixture_report["root"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_dvc_lock_outputs_are_listed(fixture_results):
    lock = {"schema": "2.0", "stages": {"train": {"cmd": "x", "outs": [
        {"path": "results/train/checkpoint", "hash": "md5", "md5": "0123456789abcdef0123456789abcdef.dir",
         "size": 123456, "nfiles": 7}]}}}
    (fixture_results["root"] / "dvc.lock").write_text(yaml.safe_dump(lock))
    build(fixture_results["results"], fixture_results["out"], fixture_results["config_files"],
          root=fixture_results["root"])
    md = (fixture_results["out"] / "report.md").read_text()
    assert "| train | results/train/checkpoint | `0123456789abcdef0123456789abcdef.dir` | 123,456 | 7 |" in md


def test_scaling_section_when_a_fit_is_given(fixture_results, tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({
        "params": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
        "ci": {"alpha": [0.3, 0.38], "beta": [0.25, 0.31]},
        "optimum": {"C": 1e18, "N": 2.1e8, "D": 8.0e8, "loss": 2.9},
        "isoflop": {"a": None, "reason": "one FLOP budget: no IsoFLOP profile"},
        "runs": [{"name": "n1-d1", "N": 1e6, "D": 2e7, "C": 1.2e14, "loss": 4.5}, {"N": 2e6, "loss": 4.1}]}))
    Image.effect_noise((64, 48), 40).convert("RGB").save(tmp_path / "fit.png")
    build(fixture_results["results"], fixture_results["out"], fixture_results["config_files"], fit,
          root=fixture_results["root"])
    md = (fixture_results["out"] / "report.md").read_text()
    assert "No sweep in this run." not in md and "![scaling-law fit](scaling.png)" in md
    assert "| params.alpha | 0.340 |" in md and "| ci.alpha | 0.300 | 0.380 |" in md and "| n1-d1 |" in md
    assert "| isoflop.a | — |" in md and "| isoflop.reason | one FLOP budget: no IsoFLOP profile |" in md
    assert "| — | 2e+06 | — | — | 4.100 |" in md  # a run without some columns
    assert (fixture_results["out"] / "scaling.png").read_bytes() == (tmp_path / "fit.png").read_bytes()
    prov = json.loads((fixture_results["out"] / "provenance.json").read_text())
    assert str(fit) in prov["inputs"] and "scaling.png" in prov["report_files"]


def test_verify_covers_artifacts_inputs_and_the_report_itself(fixture_report):
    out = fixture_report["out"]
    prov = json.loads((out / "provenance.json").read_text())
    assert {"mix/blend.json", "filter/crawl/s0.stats.json", "filter/crawl/s0.dropped.parquet", "train/metrics.jsonl",
            "eval/checkpoints.json", "tokenizer/tokenizer.json"} <= set(prov["artifacts"])
    assert {"loss.png", "training.png", "funnel.png", "checkpoints.png", "s_curve.png", "report.md",
            "report.html"} <= set(prov["report_files"])
    assert len(prov["inputs"]) == len(fixture_report["config_files"])
    _, n, problems = verify(out)
    assert problems == [] and n == (len(prov["artifacts"]) + len(prov["inputs"]) + len(prov["data_inputs"])
                                    + len(prov["report_files"]))
    assert _verify_lines(out) == (0, [])
    for rel, line in (("training.png", "MISMATCH [report] training.png: "), ("report.html", "MISMATCH [report] report.html: ")):
        shutil.copy(out / rel, out / (rel + ".bak"))
        _flip(out / rel)
        rc, lines = _verify_lines(out)
        assert rc == 1 and len(lines) == 1 and lines[0].startswith(line), lines
        shutil.move(out / (rel + ".bak"), out / rel)
    _flip(Path(fixture_report["config_files"][1]))
    _flip(fixture_report["results"] / "filter/crawl/s0.stats.json")
    (out / "checkpoints.png").unlink()
    rc, lines = _verify_lines(out)
    assert rc == 1 and len(lines) == 3, lines
    assert lines[0].startswith("MISMATCH filter/crawl/s0.stats.json: ")
    assert re.match(r"MISMATCH \[input\] \S*overlay\.yaml: ", lines[1]), lines[1]
    assert lines[2].startswith("MISSING  [report] checkpoints.png")
