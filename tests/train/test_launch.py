"""lmsci.train.launch: the rank-starting command, locally and on 1 and 4 SLURM nodes."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lmsci.train import launch

from .conftest import TRAIN

SPEC = Path("/shared/out/.launch-x.json")
DP4 = dataclasses.replace(TRAIN, data_parallel=4, micro_batch_size=2)  # 4 ranks


def slurm(nodes: int, nodelist: str) -> dict:
    return {"SLURM_JOB_ID": "4242", "SLURM_NNODES": str(nodes), "SLURM_JOB_NODELIST": nodelist}


def test_local_is_plain_torchrun():
    cmd = launch.command(DP4, SPEC, 29500, env={}, python="py")
    assert cmd == ["py", "-m", "torch.distributed.run", "--nproc-per-node", "4", "--master-port", "29500",
                   "-m", "lmsci.train.worker", str(SPEC)]


def test_one_slurm_node_is_torchrun_with_a_rendezvous_on_this_node():
    cmd = launch.command(DP4, SPEC, 29500, env=slurm(1, "cn07"), python="py")
    assert cmd == ["py", "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "4",
                   "--rdzv-backend", "c10d", "--rdzv-endpoint", "cn07:29500", "--rdzv-id", "4242",
                   "-m", "lmsci.train.worker", str(SPEC)]


def test_four_slurm_nodes_srun_one_torchrun_per_node():
    train = dataclasses.replace(TRAIN, data_parallel=8, micro_batch_size=1, nodes=4, gpus_per_node=2)
    cmd = launch.command(train, SPEC, 29500, env=slurm(4, "gpu[03-05],gpu11"), python="py")  # real scontrol
    assert cmd[:cmd.index("py")] == ["srun", "--nodes", "4", "--ntasks", "4", "--ntasks-per-node", "1",
                                     "--kill-on-bad-exit=1", "--gres=gpu:2"]
    torchrun = cmd[cmd.index("py"):]
    assert torchrun[torchrun.index("--nnodes") + 1] == "4" and torchrun[torchrun.index("--nproc-per-node") + 1] == "2"
    assert torchrun[torchrun.index("--rdzv-endpoint") + 1] == "gpu03:29500"  # the first node: where the batch script runs
    assert torchrun[-3:] == ["-m", "lmsci.train.worker", str(SPEC)]


def test_allocation_that_does_not_fit_is_refused_in_one_line():
    with pytest.raises(launch.LaunchError, match="train.nodes is 1") as e:
        launch.command(DP4, SPEC, 29500, env=slurm(2, "cn[1-2]"), master="cn1")
    assert "\n" not in str(e.value)
    with pytest.raises(launch.LaunchError, match="needs a SLURM allocation"):
        launch.command(dataclasses.replace(DP4, nodes=2), SPEC, 29500, env={})


def test_threads_are_shared_over_the_node_ranks():
    assert launch.environment(DP4, {"SLURM_CPUS_PER_TASK": "16"})["OMP_NUM_THREADS"] == "4"
    assert launch.environment(DP4, {"OMP_NUM_THREADS": "3"})["OMP_NUM_THREADS"] == "3"
