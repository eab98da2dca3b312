"""Several processes on one machine for Lightning's DDP, launched by resnet_lab itself.

Lightning's own launcher re-runs the command line (``run.py -m ...`` would start a whole sweep
in every process). Instead, rank 0 writes the run's resolved config, starts ranks 1..N-1 with
the command it is given (``python -m resnet_lab.train <run dir>``), and every rank then builds
the same Trainer; Lightning
sees LOCAL_RANK/WORLD_SIZE in the environment and joins them instead of spawning. Under
SLURM or torchrun the processes already exist and nothing is launched here.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
ENV_KEYS = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "LOCAL_RANK")
WORKER_FLAG = "RESNET_LAB_DDP_WORKER"
# Lightning's DDP in processes this module starts (ddp_spawn starts its own)
DDP_STRATEGIES = ("ddp", "ddp_find_unused_parameters_false", "ddp_find_unused_parameters_true")


def world_size(trainer_cfg: Mapping[str, Any]) -> int:
    devices = trainer_cfg["devices"] if isinstance(trainer_cfg["devices"], int) else 1
    return devices * trainer_cfg["num_nodes"]


def is_worker() -> bool:
    """True in the processes of ranks 1..N-1 started by ``local_processes``."""
    return os.environ.get(WORKER_FLAG) == "1"


def externally_launched() -> bool:
    """SLURM (srun), torchrun or an earlier launcher already started one process per rank."""
    return "LOCAL_RANK" in os.environ or "SLURM_PROCID" in os.environ and "SLURM_NTASKS" in os.environ


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_processes(trainer_cfg: Mapping[str, Any], command: list[str]):
    """Start ranks 1..N-1 for a single-node DDP run (rank 0 is this process), each running
    ``command``, and clean up:
    the environment is restored and the workers are ended, so the next job of a multirun starts
    fresh. A no-op when DDP is off, when processes exist already, or in a worker."""
    n = world_size(trainer_cfg)
    if (trainer_cfg["strategy"] not in DDP_STRATEGIES or n < 2
            or trainer_cfg["num_nodes"] > 1 or externally_launched() or is_worker()):
        yield []
        return
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    port = str(_free_port())
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE=str(n), NODE_RANK="0",
                      LOCAL_RANK="0")
    workers = []
    try:
        for rank in range(1, n):
            env = {**os.environ, "LOCAL_RANK": str(rank), WORKER_FLAG: "1", "PYTHONUNBUFFERED": "1",
                   # the code rank 0 runs (run.py's folder first on its path), not whichever copy
                   # the environment's install names: ranks running different code wait forever
                   # on each other's collectives
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
            workers.append(subprocess.Popen(command, env=env))
        yield workers
        for w in workers:
            if w.wait() != 0:
                raise RuntimeError(f"DDP rank process {w.args} exited with status {w.returncode}")
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        destroy_process_group()


def destroy_process_group() -> None:
    """End this process's gloo/NCCL group: one still alive at interpreter exit aborts the process
    ("terminate called without an active exception"), which rank 0 would report as a failure."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
