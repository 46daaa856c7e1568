"""`lmsci pull` on a scratch DVC + Snakemake repository: repro, push to a local remote, lose every
output and Snakemake's records (a fresh clone), pull — and Snakemake has nothing to recompute."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmsci import pull

SNAKEFILE = """
rule b:
    input: "out/a.txt"
    output: "out/b.txt"
    shell: "cat {input} > {output}; echo b >> {output}"

rule a:
    input: "in.txt"
    output: "out/a.txt"
    shell: "cat {input} > {output}; echo a >> {output}"
"""
DVC_YAML = """
stages:
  b:
    cmd: python -m snakemake b --cores 1
    deps: [in.txt, Snakefile]
    outs: [out/a.txt, out/b.txt]
"""
DVC_CONFIG = """[core]
    no_scm = true
    remote = store
['remote "store"']
    url = ../../remote
"""


def _run(cwd: Path, *args: str) -> None:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory) -> Path:
    """A repo whose two stages were reproduced and pushed, then lost every output (a fresh clone)."""
    root = tmp_path_factory.mktemp("pull") / "repo"
    root.mkdir()
    (root / "Snakefile").write_text(SNAKEFILE)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "in.txt").write_text("input\n")
    (root / ".dvc").mkdir()                         # what `dvc init --no-scm` + `dvc remote add -d` write
    (root / ".dvc/config").write_text(DVC_CONFIG)
    _run(root, "dvc", "repro", "-q")
    _run(root, "dvc", "push", "-q")
    for gone in ("out", ".snakemake", ".dvc/cache"):
        shutil.rmtree(root / gone)
    return root


def test_pull_restores_outputs_and_snakemake_has_nothing_to_do(pushed):
    assert pull.pull(pushed) == ""                 # its last step: `snakemake -n` has nothing to do
    assert (pushed / "out/b.txt").read_text() == "input\na\nb\n"


def test_touch_is_what_makes_restored_outputs_up_to_date(pushed):
    pull.dvc_pull(pushed)
    shutil.rmtree(pushed / ".snakemake", ignore_errors=True)   # a fresh clone: no Snakemake records
    earlier = time.time() - 60                     # DVC wrote b.txt before a.txt: b looks stale
    os.utime(pushed / "out/b.txt", (earlier, earlier))
    assert re.search(r"^b\s+1$", pull.pending(pushed, ["b"]), flags=re.M)
    inode = (pushed / "out/b.txt").stat().st_ino
    pull.touch(pushed, pull.stage_targets(pushed))
    assert pull.pending(pushed, ["b"]) == ""
    assert (pushed / "out/b.txt").stat().st_ino == inode    # touched, not recomputed (that rewrites it)


def test_pull_names_an_unreachable_remote_in_one_line(pushed):
    with pytest.raises(RuntimeError, match="dvc pull.*failed"):
        pull.pull(pushed, remote="no-such-remote")


def test_stage_targets_need_dvc_yaml(tmp_path):
    with pytest.raises(OSError, match="dvc.yaml not found"):
        pull.stage_targets(tmp_path)


def test_stage_targets_are_the_rule_named_stages(tmp_path):
    """A foreach stage (train_stage@<i>: a recipe's per-stage checkpoints) has no rule of its name; the `train`
    target covers its outputs, so it is not a --touch target."""
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  curate:\n    cmd: a\n  train:\n    cmd: b\n"
        "  train_stage:\n    foreach: [x, y]\n    do:\n      cmd: c ${item}\n")
    assert pull.stage_targets(tmp_path) == ["curate", "train"]
