"""train.on_spike (issue 12): a spike planted in-process (world 1) is skipped, or rolled back to the
last checkpoint with a lower LR; every event is counted in metrics.jsonl and the summary."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from .conftest import MODEL, TRAIN, VOCAB, losses, rows
from lmsci.train import adapter, checkpoint, loop, schedule

SPIKY = dataclasses.replace(TRAIN, loss_spike_window=5, loss_spike_zscore=4.0, checkpoint_steps=[5, 10])


@pytest.fixture
def plant(monkeypatch):
    """Make the loss of the ``at``-th call of adapter.step (0-based) look 10× higher, once: ``accept``
    and the logged loss see the spike; the weights and gradients are the real ones."""
    real = adapter.step
    calls = {"n": 0}

    def planted(at: int):
        def step(*args, accept=None, **kw):
            n, calls["n"] = calls["n"], calls["n"] + 1
            if n != at:
                return real(*args, accept=accept, **kw)
            seen = {}

            def spiking(loss):
                seen["loss"] = loss * 10
                return accept(seen["loss"]) if accept else True

            result = real(*args, accept=spiking, **kw)
            return dataclasses.replace(result, loss=seen["loss"])
        monkeypatch.setattr(adapter, "step", step)
    return planted


def test_log_only_counts_the_spike(plant, blend, tmp_path):
    plant(12)
    loop.train(MODEL, SPIKY, 1234, blend, tmp_path)
    r = rows(tmp_path)
    assert [x["step"] for x in r if x["loss_spike"]] == [12] and r[12]["spike_action"] == "log"
    assert r[-1]["skipped"] == 0 and r[-1]["rollbacks"] == 0


def test_skip_leaves_the_update_out(plant, blend, tmp_path, reference):
    plant(12)
    t = dataclasses.replace(SPIKY, on_spike="skip")
    loop.train(MODEL, t, 1234, blend, tmp_path)
    r, ref = rows(tmp_path), losses(reference)
    assert r[12]["spike_action"] == "skip" and r[12]["skipped"] == 1 and r[-1]["skipped"] == 1
    assert [x["loss"] for x in r[:12]] == ref[:12]  # identical up to the spike
    assert r[12]["loss"] == pytest.approx(10 * ref[12])  # the planted loss, on the same weights
    assert r[13]["loss"] != ref[13]  # the next step starts from weights without step 12's update
    assert len(r) == t.steps and json.loads((tmp_path / "train_summary.json").read_text())["spikes"]["skipped"] == 1


def test_rollback_reloads_the_last_checkpoint_at_a_lower_lr(plant, blend, tmp_path, reference):
    plant(12)
    t = dataclasses.replace(SPIKY, on_spike="rollback", spike_lr_factor=0.5)
    loop.train(MODEL, t, 1234, blend, tmp_path)
    r, ref = rows(tmp_path), losses(reference)
    assert [x["step"] for x in r] == list(range(t.steps))  # steps 10, 11 rerun after the rollback to step 10
    assert [x["loss"] for x in r[:10]] == ref[:10]
    assert r[10]["loss"] == ref[10]  # same weights (reloaded) and data, before the lower LR acts
    assert all(x["rollbacks"] == (1 if x["step"] >= 10 else 0) for x in r)
    assert all(x["lr"] == pytest.approx(0.5 * schedule.lr(x["step"], t)) for x in r[10:])
    assert not any(x["loss_spike"] for x in r)  # the spiking step itself was thrown away
    meta = checkpoint.read_meta(tmp_path / "checkpoint")
    assert meta["spikes"] == {"lr_scale": 0.5, "rollbacks": 1, "skipped": 0}


def test_resume_after_a_rollback_is_exact(plant, blend, tmp_path):
    """The LR scale lives in the checkpoints: resuming after a rollback continues at the lower LR."""
    plant(12)
    t = dataclasses.replace(SPIKY, on_spike="rollback", checkpoint_steps=[5, 10, 15])
    loop.train(MODEL, t, 1234, blend, tmp_path / "full")
    shutil.copytree(checkpoint.step_dir(tmp_path / "full", 15), checkpoint.step_dir(tmp_path / "part", 15))
    loop.train(MODEL, t, 1234, blend, tmp_path / "part")
    assert losses(tmp_path / "part") == losses(tmp_path / "full")
    a, b = (adapter.load_weights(d / "checkpoint", MODEL, VOCAB) for d in (tmp_path / "part", tmp_path / "full"))
    assert all(bool((a[k] == b[k]).all()) for k in a)


def test_too_many_rollbacks_fail_in_one_line(plant, blend, tmp_path):
    plant(12)
    t = dataclasses.replace(SPIKY, on_spike="rollback", max_rollbacks=0)
    with pytest.raises(loop.TrainError, match="after 0 rollbacks; lower train.lr"):
        loop.train(MODEL, t, 1234, blend, tmp_path)
