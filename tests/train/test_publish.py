"""publish-checkpoints: the complete checkpoints (Pythia schedule + final) mirrored into a declared
directory — hard links, incomplete and .tmp ones left out — which the per-checkpoint evaluation and
export-hf take as they take the train directory."""
from __future__ import annotations

import json
import os

import pytest

from lmsci import cli
from lmsci.train import publish


def _ckpt(d, step: int, complete: bool = True):
    d.mkdir(parents=True)
    (d / "weights.distcp").write_bytes(bytes([step]) * 64)
    if complete:
        (d / publish.META).write_text(json.dumps({"step": step}))


def test_names_match_the_checkpoint_module():
    from lmsci.train import checkpoint
    assert (publish.META, publish.FINAL, publish.INTERMEDIATE) == (checkpoint.META, checkpoint.FINAL,
                                                                   checkpoint.INTERMEDIATE)


def test_publish_mirrors_complete_checkpoints_as_hard_links(tmp_path):
    train, out = tmp_path / "train", tmp_path / "train" / "published"
    for step in (0, 1, 2):
        _ckpt(train / "checkpoints" / f"step_{step:07d}", step)
    _ckpt(train / "checkpoints" / "step_0000004", 4, complete=False)  # killed mid-save
    _ckpt(train / "checkpoints" / "step_0000008.tmp", 8)
    _ckpt(train / "checkpoint", 9)
    (out / "stale").mkdir(parents=True)  # a former publication is replaced, not merged
    found = publish.publish(train, out)
    assert [p.relative_to(out).as_posix() for p in found] == [
        "checkpoints/step_0000000", "checkpoints/step_0000001", "checkpoints/step_0000002", "checkpoint"]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "checkpoints"]
    src, dst = train / "checkpoints/step_0000001/weights.distcp", out / "checkpoints/step_0000001/weights.distcp"
    assert dst.read_bytes() == src.read_bytes() and os.stat(dst).st_ino == os.stat(src).st_ino


def test_nothing_to_publish_is_one_line(tmp_path, capsys):
    with pytest.raises(publish.PublishError, match="no complete checkpoint under"):
        publish.publish(tmp_path, tmp_path / "published")
    assert cli.main(["publish-checkpoints", "--train-dir", str(tmp_path), "--out-dir", str(tmp_path / "p")]) == 1
    assert "lmsci publish-checkpoints: error: no complete checkpoint" in capsys.readouterr().err


def test_workflow_published_checkpoints_evaluate_and_export_like_the_originals(tiny_run, tmp_path):
    from lmsci.evaluate.checkpoints import discover
    train = tiny_run["results"] / "train"
    published = [(s, d.relative_to(train / "published")) for s, d in discover(train / "published")]
    assert published == [(s, d.relative_to(train)) for s, d in discover(train)] and len(published) >= 3
    evals = json.loads((tiny_run["results"] / "eval/checkpoints.json").read_text())["checkpoints"]
    assert [e["step"] for e in evals] == [s for s, _ in published]
    step, rel = published[1]  # an intermediate (Pythia-schedule) checkpoint
    assert "checkpoints/step_" in rel.as_posix()
    tok = tiny_run["results"] / "tokenizer/tokenizer.json"
    assert cli.main(["export-hf", str(train / "published" / rel), str(tmp_path / "hf"), "--tokenizer", str(tok)]) == 0
    exported = json.loads((tmp_path / "hf/lmsci_export.json").read_text())
    assert exported["step"] == step


def test_per_checkpoint_evaluation_reruns_from_the_published_copy_alone(tiny_run, tmp_path):
    """What a pulled clone has (the published directory, no train/checkpoints/): the same curve."""
    import shutil

    from lmsci import config as C
    shutil.copytree(tiny_run["results"] / "train/published", tmp_path / "pulled")
    cfg = C.slice_json(tiny_run["cfg"], "seed", "model", "train", "evaluate")
    assert cli.main(["evaluate-checkpoints", "--cfg", cfg, "--blend", str(tiny_run["results"] / "mix/blend.json"),
                     "--train-dir", str(tmp_path / "pulled"), "--out", str(tmp_path / "checkpoints.json")]) == 0
    assert (tmp_path / "checkpoints.json").read_bytes() == (tiny_run["results"] / "eval/checkpoints.json").read_bytes()


def test_dvc_pushes_and_pulls_what_the_workflow_publishes(repo):
    """The publish rule's output, as the workflow names it for the default config, is a DVC out of the
    `train` stage, and the `train` target (what `lmsci pull` touches) includes it."""
    import yaml

    from lmsci.report.artifacts import job_outputs
    outs = [o for o, rule in job_outputs(repo, [], "train", repo) if rule == "publish_checkpoints"]
    assert outs == ["results/train/published"]
    stage = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]["train"]
    assert outs[0] in [next(iter(o)) if isinstance(o, dict) else o for o in stage["outs"]]
