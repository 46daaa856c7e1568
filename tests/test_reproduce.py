"""lmsci reproduce without a workflow run: refusals (dirty commit, no repository, no provenance, unknown
target) are one line; the recorded config becomes the clone's config.yaml; compare() names what differs,
what is missing and what is new, in stage order. The rerun itself: tests/workflow/test_reproduce.py."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmsci import reproduce as R

ROOT = Path(__file__).resolve().parents[1]


def _report(tmp_path: Path, **git) -> Path:
    out = tmp_path / "reports" / "run"
    out.mkdir(parents=True)
    prov = {"git": {"commit": "a" * 40, "dirty": False, **git}, "config": {"run": "run", "results": "/abs/results"},
            "artifacts": {}}
    (out / "provenance.json").write_text(json.dumps(prov))
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmsci", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_dirty_recorded_commit_is_refused_in_one_line(tmp_path):
    report = _report(tmp_path, dirty=True, root=str(ROOT))
    proc = _cli("reproduce", str(report), "--until", "tokens", "--workdir", str(tmp_path / "clone"))
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "uncommitted changes" in proc.stderr
    assert not (tmp_path / "clone").exists()


@pytest.mark.parametrize("until,git,match", [
    ("tokens", {"commit": "unknown"}, "records no git commit"),
    ("tokens", {"root": "/nonexistent/repo"}, "names no repository"),
    ("everything", {}, "--until everything: choose one of curate, tokens, train, report"),
])
def test_unreproducible_reports_fail_with_one_line(tmp_path, until, git, match):
    report = _report(tmp_path, **git)
    with pytest.raises(R.ReproduceError, match=match):
        R.reproduce(report, until, workdir=tmp_path / "clone")


def test_no_provenance_names_the_file(tmp_path):
    with pytest.raises(R.ReproduceError, match="provenance.json not found"):
        R.provenance(tmp_path)
    (tmp_path / "provenance.json").write_text("{not json")
    with pytest.raises(R.ReproduceError, match="is not valid JSON"):
        R.provenance(tmp_path)


def test_recorded_config_becomes_the_clones_config_and_an_absolute_results_dir_moves_inside(tmp_path):
    prov = {"config": {"run": "x", "results": "/elsewhere/results", "seed": 7, "sources": {"crawl": {"paths": ["a"]}}}}
    results = R.apply_config(prov, tmp_path)
    assert results == tmp_path / "results"
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {**prov["config"], "results": "results"}
    prov["config"]["results"] = "results-tiny"
    assert R.apply_config(prov, tmp_path) == tmp_path / "results-tiny"


def test_compare_lists_differing_missing_and_extra_in_stage_order(tmp_path, monkeypatch):
    made = {"artifacts": {"filter/a.parquet": "1", "tokens/a.bin": "2", "extract/a.parquet": "3", "new/x": "4"},
            "artifact_rules": {"filter/a.parquet": "filter", "tokens/a.bin": "tokenize",
                               "extract/a.parquet": "extract", "new/x": "tokenize"},
            "rule_order": ["extract", "tag", "filter", "tokenize"]}
    monkeypatch.setattr(R.artifacts, "collect", lambda *a, **k: made)
    prov = {"artifacts": {"filter/a.parquet": "9", "tokens/a.bin": "2", "extract/a.parquet": "3",
                          "tag/a.parquet": "5", "train/x": "6"},
            "artifact_rules": {"filter/a.parquet": "filter", "tokens/a.bin": "tokenize", "extract/a.parquet": "extract",
                               "tag/a.parquet": "tag", "train/x": "train_model"}}
    n, lines = R.compare(prov, tmp_path, tmp_path / "results", "tokens")
    # tag/a.parquet: the target's rule `tag` made nothing → missing; train/x: train_model is not in the target
    assert n == 5 and [(x.kind, x.artifact) for x in lines] == [
        ("missing", "tag/a.parquet"), ("differs", "filter/a.parquet"), ("extra", "new/x")]
    assert lines[1].text().startswith("DIFFERS  filter/a.parquet (filter): report sha256 9")


def test_remote_inputs_are_pulled_into_the_clone_with_a_relative_remote_url(tmp_path):
    """--remote: the clone's *.dvc data comes from the DVC remote; the remote's URL, relative to the source
    repository's .dvc/, is made absolute first (from a clone elsewhere it would point nowhere)."""
    origin, clone = tmp_path / "origin", tmp_path / "deeper" / "place" / "clone"
    origin.mkdir()

    def sh(cwd, *cmd):
        proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]

    dvc = (sys.executable, "-m", "dvc")
    sh(origin, "git", "init", "-q")
    sh(origin, *dvc, "init", "-q")
    (origin / "input.txt").write_text("the crawl\n")
    sh(origin, *dvc, "add", "-q", "input.txt")
    sh(origin, *dvc, "remote", "add", "store", "../remote")  # tmp_path/remote; config.yaml keeps it relative
    sh(origin, *dvc, "push", "-q", "-r", "store")
    sh(origin, "git", "add", "-A")
    sh(origin, "git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "data")
    sh(tmp_path, "git", "clone", "-q", str(origin), str(clone))
    assert not (clone / "input.txt").exists()
    R.pull_inputs(clone, "store", origin)
    assert (clone / "input.txt").read_text() == "the crawl\n"
    with pytest.raises(R.ReproduceError, match="dvc pull -r nowhere failed"):
        R.pull_inputs(clone, "nowhere", origin)


def test_the_rerun_imports_the_clones_lmsci_not_the_installed_one(tmp_path):
    """The environment may import lmsci at interpreter start (a .pth); the clone's code must still run."""
    (tmp_path / "lmsci").mkdir()
    (tmp_path / "lmsci" / "__init__.py").write_text("")
    elsewhere = tmp_path / "elsewhere"  # not the clone: PYTHONPATH must win over the installed lmsci
    elsewhere.mkdir()
    out = R._run([sys.executable, "-c", "import lmsci; print(lmsci.__file__)"], elsewhere, "import", code=tmp_path)
    assert out.strip() == str(tmp_path / "lmsci" / "__init__.py")
