"""lmsci.train.checkpoint: which checkpoint resumes, and the one-line refusals (data, model, settings)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from lmsci.train import checkpoint, loop

from .conftest import MODEL, TRAIN, losses


def fake(directory: Path, step: int, complete: bool = True, code_version: str | None = None) -> Path:
    directory.mkdir(parents=True)
    if complete:
        meta = {"step": step, "code_version": code_version or checkpoint.code_version()}
        (directory / checkpoint.META).write_text(json.dumps(meta))
    return directory


def test_latest_takes_the_most_steps_and_skips_incomplete(tmp_path):
    assert checkpoint.latest(tmp_path) is None
    fake(checkpoint.step_dir(tmp_path, 4), 4)
    fake(checkpoint.step_dir(tmp_path, 16), 16)
    fake(checkpoint.step_dir(tmp_path, 32), 32, complete=False)  # killed mid-save: no meta yet
    fake(tmp_path / "checkpoints" / "step_0000064.tmp", 64)
    assert checkpoint.latest(tmp_path) == checkpoint.step_dir(tmp_path, 16)
    fake(tmp_path / "checkpoint", 20)
    assert checkpoint.latest(tmp_path) == tmp_path / "checkpoint"
    checkpoint.remove_partial(tmp_path)
    assert not (tmp_path / "checkpoints" / "step_0000064.tmp").exists()


def test_fingerprint_covers_blend_tokenizer_and_seq_length(blend, tmp_path):
    data = json.loads(blend.read_text())
    base = checkpoint.fingerprint(blend, data, 64)
    assert base == checkpoint.fingerprint(blend, data, 64)  # deterministic
    assert base["sha256"] != checkpoint.fingerprint(blend, data, 128)["sha256"]
    assert base["sha256"] != checkpoint.fingerprint(blend, {**data, "eod": 1}, 64)["sha256"]
    moved = tmp_path / "blend.json"
    moved.write_text(blend.read_text() + " ")
    assert base["sha256"] != checkpoint.fingerprint(moved, data, 64)["sha256"]


@pytest.fixture(scope="module")
def started(reference, tmp_path_factory) -> Path:
    """An out_dir holding the reference run's final checkpoint, copied per test."""
    out = tmp_path_factory.mktemp("started")
    shutil.copytree(reference / "checkpoint", checkpoint.step_dir(out, TRAIN.steps))
    return out


def refused(started: Path, tmp_path: Path, blend: Path, model=MODEL, train=TRAIN) -> str:
    shutil.copytree(started, tmp_path / "out")
    with pytest.raises(checkpoint.ResumeError) as e:
        loop.train(model, train, 1234, blend, tmp_path / "out")
    assert "\n" not in str(e.value)
    return str(e.value)


def test_other_data_fails_unless_allowed(started, blend, tmp_path):
    other = tmp_path / "blend.json"
    other.write_text(json.dumps({**json.loads(blend.read_text()), "note": "re-mixed"}))
    message = refused(started, tmp_path, other)
    assert "other data (blend_sha256 changed)" in message and "train.allow_data_change: true" in message
    shutil.rmtree(tmp_path / "out")
    shutil.copytree(started, tmp_path / "out")
    loop.train(MODEL, dataclasses.replace(TRAIN, allow_data_change=True), 1234, other, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "train_summary.json").read_text())["resumed_from_step"] == TRAIN.steps


def test_other_settings_or_model_fail_naming_the_key(started, blend, tmp_path):
    message = refused(started, tmp_path, blend, train=dataclasses.replace(TRAIN, lr=1e-3))
    assert "train.lr 0.003 → 0.001" in message and "to start over" in message
    shutil.rmtree(tmp_path / "out")
    message = refused(started, tmp_path, blend, model=dataclasses.replace(MODEL, norm_epsilon=1e-6))
    assert "model.norm_epsilon" in message


def test_checkpoints_of_other_training_code_are_ignored_and_removed(tmp_path, capsys):
    """The train rule reran after a code change: Snakemake deleted checkpoint/, not checkpoints/."""
    fake(checkpoint.step_dir(tmp_path, 4), 4)
    fake(checkpoint.step_dir(tmp_path, 16), 16, code_version="0123456789abcdef")
    (checkpoint.step_dir(tmp_path, 32)).mkdir()
    (checkpoint.step_dir(tmp_path, 32) / checkpoint.META).write_text(json.dumps({"step": 32}))  # pre-versioning
    assert checkpoint.latest(tmp_path) == checkpoint.step_dir(tmp_path, 4)
    assert checkpoint.remove_stale(tmp_path) == [checkpoint.step_dir(tmp_path, 16), checkpoint.step_dir(tmp_path, 32)]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_0000004"]
    log = capsys.readouterr().out.splitlines()
    assert len(log) == 2 and "0123456789abcdef" in log[0] and checkpoint.code_version() in log[0]


def test_a_rerun_after_a_code_change_starts_over(started, reference, blend, tmp_path):
    """A stale checkpoint of the same run would resume (or be refused); it is removed and the run
    starts from step 0 with the reference's curve."""
    shutil.copytree(started, tmp_path / "out")
    stale = checkpoint.step_dir(tmp_path / "out", TRAIN.steps)
    meta = checkpoint.read_meta(stale)
    (stale / checkpoint.META).write_text(json.dumps({**meta, "code_version": "0123456789abcdef"}))
    loop.train(MODEL, TRAIN, 1234, blend, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "train_summary.json").read_text())["resumed_from_step"] is None
    assert checkpoint.read_meta(tmp_path / "out" / "checkpoint")["code_version"] == checkpoint.code_version()
    assert not stale.exists()
    assert losses(tmp_path / "out") == losses(reference)


def test_one_run_records_one_code_version(monkeypatch):
    """Pinned for a run (checkpoints written minutes apart agree); workers take the launcher's."""
    with checkpoint.pinned_code_version() as version:
        assert checkpoint.code_version() == version and len(version) == 16
    monkeypatch.setenv(checkpoint.CODE_VERSION_ENV, "fedcba9876543210")
    assert checkpoint.code_version() == "fedcba9876543210"
