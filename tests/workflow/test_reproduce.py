"""`lmsci reproduce --until tokens` on a committed tiny run: a fresh clone regenerates every artifact of
the data stages bit for bit; a changed filter threshold in the clone names the filter's outputs first,
and `lmsci diff` names the key and the stage.

The original run is the shared `tiny_tokens` fixture (configs/tiny.yaml, `snakemake tokens`), copied
into a committed repository; the one new workflow run is the reproduction's own, in its clone (plus
the filter-onwards rerun after the threshold change).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from lmsci import config as C
from lmsci import reproduce as R
from lmsci.provenance import git_state
from lmsci.report import artifacts
from lmsci.report.diff import diff, render

from .conftest import RESULTS, copy_repo

pytestmark = pytest.mark.e2e
CONFIG_FILES = ["config.yaml", "configs/tiny.yaml"]


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)


def _report(repo, out, until="tokens") -> dict:
    """What the report build records, for the artifacts `until` makes (the run stopped there)."""
    found = artifacts.collect(repo / RESULTS, CONFIG_FILES, repo, repo, until)
    prov = {"git": {**git_state(repo), "root": str(repo)}, "config_files": CONFIG_FILES,
            "config": C.merge(*(C.read_yaml(repo / p) for p in CONFIG_FILES)), "results_dir": str(repo / RESULTS),
            "results_dir_from_report": str(repo / RESULTS), **found}
    out.mkdir(parents=True, exist_ok=True)
    (out / "provenance.json").write_text(json.dumps(prov, indent=2))
    return prov


@pytest.fixture(scope="module")
def origin(tiny_tokens, tmp_path_factory):
    """The tiny run's repository, committed, with the tiny_tokens results and their report."""
    repo = copy_repo(tmp_path_factory.mktemp("origin") / "repo")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "tiny run")
    shutil.copytree(tiny_tokens / RESULTS, repo / RESULTS)
    prov = _report(repo, repo / "reports" / "tiny")
    assert not prov["git"]["dirty"] and prov["git"]["commit"] != "unknown"
    return repo


@pytest.fixture(scope="module")
def rerun(origin, tmp_path_factory):
    clone = tmp_path_factory.mktemp("reproduce") / "clone"
    proc = subprocess.run([sys.executable, "-m", "lmsci", "reproduce", str(origin / "reports" / "tiny"), "--until",
                           "tokens", "--workdir", str(clone), "--keep"], capture_output=True, text=True, timeout=1800)
    return proc, clone


def test_fresh_clone_reproduces_every_data_artifact(origin, rerun):
    proc, clone = rerun
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    prov = json.loads((origin / "reports/tiny/provenance.json").read_text())
    n = len(prov["artifacts"])
    assert n > 50 and proc.stdout.strip().splitlines() == [f"{n} of {n} artifacts identical"]
    # a clean clone at the recorded commit, the recorded config as its config.yaml
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    assert head == prov["git"]["commit"] and yaml.safe_load((clone / "config.yaml").read_text()) == prov["config"]


def test_changed_threshold_names_the_filter_outputs_first_and_diff_names_key_and_stage(origin, rerun, tmp_path):
    _, clone = rerun
    cfg = yaml.safe_load((clone / "config.yaml").read_text())
    cfg["gopher_quality"]["min_doc_words"] = 150  # 50 in config.yaml (Gopher, Rae et al. 2021)
    (clone / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    R.run_target(clone, "tokens")
    prov = json.loads((origin / "reports/tiny/provenance.json").read_text())
    n, lines = R.compare(prov, clone, clone / RESULTS, "tokens")
    assert lines and lines[0].rule == "filter" and lines[0].artifact.startswith("filter/crawl/")
    assert {x.rule for x in lines} >= {"filter", "tokenize"} and "tag" not in {x.rule for x in lines}
    found = artifacts.collect(clone / RESULTS, ["config.yaml"], clone, clone, "tokens")
    changed = {**prov, "config": cfg, **found}
    (tmp_path / "b").mkdir()
    (tmp_path / "b/provenance.json").write_text(json.dumps(changed))
    d = diff(origin / "reports/tiny", tmp_path / "b")
    assert [k for k, _, _ in d["config"]] == ["gopher_quality.min_doc_words"]
    assert d["stage"]["rule"] == "filter" and not d["code"] and not d["inputs"]
    assert "config   gopher_quality.min_doc_words: 50 → 150" in render(d)
