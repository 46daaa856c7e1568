"""How ``lmsci train`` starts its ranks: torchrun on this machine, or srun + torchrun on SLURM nodes.

One command shape from 1 to N nodes (the PyTorch elastic / torchtitan multi-node recipe):

    local (no SLURM_JOB_ID):  torchrun --nproc-per-node W --master-port P -m lmsci.train.worker SPEC
    SLURM, 1 node:            torchrun --nnodes 1 --nproc-per-node W/N --rdzv-backend c10d
                                       --rdzv-endpoint HOST:P --rdzv-id JOB -m lmsci.train.worker SPEC
    SLURM, N > 1 nodes:       srun --nodes N --ntasks N --ntasks-per-node 1 … <the torchrun line>

where W = tensor × pipeline × data parallel and HOST is the allocation's first node (``scontrol show
hostnames $SLURM_JOB_NODELIST``) — where the batch script, and so this launcher, runs, which is
why its free port is the rendezvous port. torchrun's c10d rendezvous hands out node ranks. The
train rule asks SLURM for ``train.nodes`` nodes of ``train.gpus_per_node`` GPUs
(workflow/rules/train.smk); a world size of 1 never gets here (it trains in-process).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping

from lmsci.config import TrainConfig


class LaunchError(RuntimeError):
    """The allocation does not fit the layout: one line naming the setting to change."""


def master_host(nodelist: str) -> str:
    """The first host of a SLURM node list (``node[01-04]`` → ``node01``), expanded by scontrol."""
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise LaunchError(f"cannot expand SLURM_JOB_NODELIST={nodelist!r} with scontrol: {e}") from None
    hosts = out.stdout.split()
    if not hosts:
        raise LaunchError(f"scontrol show hostnames {nodelist!r} printed no host")
    return hosts[0]


def command(train: TrainConfig, spec: Path, port: int, env: Mapping[str, str], master: str | None = None,
            python: str = sys.executable) -> list[str]:
    """The argv that starts every rank of ``train``'s layout; ``env`` decides local or SLURM and
    ``master`` (default: :func:`master_host` of the job's node list) is the rendezvous host."""
    worker = ["-m", "lmsci.train.worker", str(spec)]
    torchrun = [python, "-m", "torch.distributed.run"]
    if "SLURM_JOB_ID" not in env:
        if train.nodes > 1:
            raise LaunchError(f"train.nodes={train.nodes} needs a SLURM allocation; run through "
                              "workflow/profiles/slurm or set train.nodes: 1")
        return torchrun + ["--nproc-per-node", str(train.world_size), "--master-port", str(port)] + worker
    nodes = int(env.get("SLURM_NNODES") or env.get("SLURM_JOB_NUM_NODES") or 1)
    if nodes != train.nodes:
        raise LaunchError(f"the SLURM job has {nodes} node(s) but train.nodes is {train.nodes}; "
                          "submit it with the train rule's resources (nodes) or fix train.nodes")
    master = master or master_host(env["SLURM_JOB_NODELIST"])
    cmd = torchrun + ["--nnodes", str(nodes), "--nproc-per-node", str(train.world_size // nodes),
                      "--rdzv-backend", "c10d", "--rdzv-endpoint", f"{master}:{port}",
                      "--rdzv-id", env["SLURM_JOB_ID"]] + worker
    if nodes == 1:  # the job step snakemake's jobstep executor started is already this node's
        return cmd
    gpus = [f"--gres=gpu:{train.gpus_per_node}"] if train.gpus_per_node else []
    return ["srun", "--nodes", str(nodes), "--ntasks", str(nodes), "--ntasks-per-node", "1",
            "--kill-on-bad-exit=1", *gpus] + cmd


def environment(train: TrainConfig, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with OMP_NUM_THREADS shared out over this node's ranks (torchrun would set 1 and warn)."""
    if "OMP_NUM_THREADS" in env:
        return dict(env)
    cpus = int(env.get("SLURM_CPUS_PER_TASK") or os.cpu_count() or 1)
    return {**env, "OMP_NUM_THREADS": str(max(1, cpus // (train.world_size // train.nodes)))}
