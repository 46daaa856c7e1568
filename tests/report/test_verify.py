"""lmsci verify: a fresh report verifies; one changed byte or a missing artifact fails, one line each."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmsci.provenance import sha256_file
from lmsci.report.verify import VerifyError, verify

ROOT = Path(__file__).resolve().parents[2]


def lmsci(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmsci", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tiny_run, tmp_path) -> Path:
    """The report and its results, moved together to a new place (verify must still find them)."""
    dest = tmp_path / "moved"
    shutil.copytree(tiny_run["results"], dest / "results")
    shutil.copytree(tiny_run["report"], dest / "reports" / "run")
    return dest


def test_provenance_names_the_results_dir_and_the_report_says_how_to_verify(tiny_run):
    prov = json.loads((tiny_run["report"] / "provenance.json").read_text())
    assert prov["results_dir"] == str(tiny_run["results"])
    assert (tiny_run["report"] / prov["results_dir_from_report"]).resolve() == tiny_run["results"].resolve()
    assert {"mix/blend.json", "tokenizer/tokenizer.json", "train/checkpoint/metadata.json"} <= set(prov["artifacts"])
    md = (tiny_run["report"] / "report.md").read_text()
    assert f"lmsci verify {tiny_run['report']}" in md.split("## Reproduce")[1]


def test_fresh_report_verifies(tiny_run):
    root, n, problems = verify(tiny_run["report"])
    assert problems == [] and n >= 10 and root.resolve() == tiny_run["results"].resolve()
    proc = lmsci("verify", str(tiny_run["report"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines() == [f"verify: {n} of {n} artifacts under {root} match provenance.json"]


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_artifacts_are_every_output_of_the_dag_logs_and_timings_listed_apart(tiny_run):
    """Every file under results/ is either an artifact (hashed, with the rule that wrote it) or listed
    under not_artifacts; the DAG's rule order puts extraction before training before evaluation."""
    prov = json.loads((tiny_run["report"] / "provenance.json").read_text())
    results = tiny_run["results"]
    on_disk = {str(p.relative_to(results)) for p in results.rglob("*") if p.is_file()}
    listed, others = set(prov["artifacts"]), set(prov["not_artifacts"]["files"])
    assert listed | others == on_disk and not listed & others
    assert set(prov["artifact_rules"]) == listed and "snakemake --summary" in prov["artifact_source"]
    # not declared by any rule: logs, benchmark timings, train/'s resume checkpoints and dataset index cache
    assert {p.split("/")[0] for p in others} <= {"logs", "benchmarks", "train"}, sorted(others)
    assert not any(p.startswith(("logs/", "benchmarks/", "train/checkpoints/")) for p in listed)
    rules = set(prov["artifact_rules"].values())
    assert {"extract", "tag", "filter", "pii", "train_quality", "train_tokenizer", "train_model",
            "publish_checkpoints", "export_hf", "evaluate_checkpoints"} <= rules
    order = prov["rule_order"]
    assert order.index("extract") < order.index("filter") < order.index("train_model") < order.index("evaluate")
    steps = [c["step"] for c in prov["checkpoints"] if c["path"].startswith("train/published/checkpoints/")]
    assert len(steps) >= 2 and steps == sorted(steps)
    seq = tiny_run["cfg"].model.seq_length
    for c in prov["checkpoints"]:
        meta = json.loads((results / c["path"] / "lmsci_meta.json").read_text())
        assert c["tokens_seen"] == meta["consumed_samples"] * seq and len(c["sha256"]) == 64


def test_one_changed_byte_in_any_stage_output_fails_with_one_line_naming_it(copy):
    """One byte flipped in one output of every stage: verify names each, one line apiece."""
    prov = json.loads((copy / "reports" / "run" / "provenance.json").read_text())
    by_rule: dict[str, list[str]] = {}
    for rel, rule in sorted(prov["artifact_rules"].items()):
        if (copy / "results" / rel).stat().st_size:
            by_rule.setdefault(rule, []).append(rel)
    pick = {rule: rels[0] for rule, rels in by_rule.items() if rule != "publish_checkpoints"}
    # the intermediate (Pythia-schedule) checkpoints are published copies: one of those too
    pick["intermediate"] = next(r for r in by_rule["publish_checkpoints"] if "/checkpoints/step_" in r)
    pick["dedup"] = next(r for rule, rels in by_rule.items() if rule.startswith("dedup") for r in rels)
    pick["minhash"] = next(r for rule, rels in by_rule.items() if rule.startswith("minhash") for r in rels)
    assert {"extract", "tag", "filter", "pii", "train_quality", "train_tokenizer", "tokenize", "train_model",
            "evaluate", "export_hf"} <= set(pick)
    for rel in set(pick.values()):
        _flip(copy / "results" / rel)
    proc = lmsci("verify", str(copy / "reports" / "run"))
    assert proc.returncode == 1
    bad = [ln for ln in proc.stdout.splitlines() if not ln.startswith("verify:")]
    assert sorted(bad) == sorted(f"MISMATCH {rel}: expected sha256 {prov['artifacts'][rel]}, found "
                                 f"{sha256_file(copy / 'results' / rel)}" for rel in set(pick.values()))


def test_missing_artifact_is_reported(copy):
    (copy / "results" / "mix" / "blend.json").unlink()
    _, n, problems = verify(copy / "reports" / "run")
    assert [(p.artifact, p.kind) for p in problems] == [("mix/blend.json", "missing")]
    assert problems[0].line().startswith("MISSING  mix/blend.json")


def test_not_a_report_dir_is_one_line_error(tmp_path):
    with pytest.raises(VerifyError, match="provenance.json not found"):
        verify(tmp_path)
    proc = lmsci("verify", str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "provenance.json" in proc.stderr
