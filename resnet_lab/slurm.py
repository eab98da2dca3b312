"""Running a study's jobs on SLURM (``hydra/launcher=slurm``): a launcher that always reaches the
sweep summary, and the requeue of a pre-empted job.

hydra-submitit-launcher's own launcher returns ``[job.results()[0] for job in jobs]``: the first
job that ends without a result (cancelled, killed, out of memory, its node lost) raises there,
the sweep ends without its summary and the jobs after it are not waited for. ``SlurmLauncher``
waits for every job, and a job without a result is recorded in its run directory's
``summary.json`` with SLURM's state (``cancelled``, ``failed``, ``timeout``...), so the summary
names it while the others finish.

Pre-emption: SLURM signals a job ``signal_delay_s`` before its time limit (``--signal=USR1@N``)
or when ``scancel --signal=USR1`` asks. ``StopOnSignal`` saves ``last.ckpt`` at the current
iteration; ``requeue_after_stop`` then hands the job to submitit's own handler, which pickles the
job again and runs ``scontrol requeue``: the job starts again in the same run directory and
resumes from that checkpoint. ``scontrol requeue`` itself sends SIGTERM: saved the same way, the
requeued job resumes the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path

REQUEUE_SIGNAL = signal.SIGUSR1  # one of callbacks/stop.py's STOP_SIGNALS
PREEMPT_ENV = "SUBMITIT_PREEMPT_SIGNAL"  # submitit's choice of signal (its default: USR2)


def under_submitit() -> bool:
    return bool(os.environ.get("SUBMITIT_EXECUTOR")) and bool(os.environ.get("SLURM_JOB_ID"))


def requeue_after_stop(signum: int | None) -> None:
    """After a run stopped by SLURM's pre-emption signal saved its checkpoint: requeue the job
    with submitit's handler (it exits the process). Anything else: nothing happens."""
    if signum != REQUEUE_SIGNAL or not under_submitit():
        return
    handler = signal.getsignal(signum)  # StopOnSignal has put submitit's handler back
    if callable(handler):
        print(f"requeueing SLURM job {os.environ['SLURM_JOB_ID']}: it resumes from its checkpoint",
              flush=True)
        handler(signum, None)


def run_dir_of(launcher, overrides: Sequence[str], num: int) -> Path | None:
    """The run directory that job ``num`` of the sweep has (or would have)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    hc = HydraConfig.instance()
    before = hc.cfg
    try:
        cfg = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
        with open_dict(cfg.hydra.job):
            cfg.hydra.job.num = num
        hc.set_config(cfg)
        return Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
    except Exception:  # noqa: BLE001 - the summary line is a courtesy; the launcher goes on
        return None
    finally:
        if before is not None:
            hc.cfg = before


def record_lost_job(run_dir: Path | None, state: str, job_id: str, reason: str) -> None:
    from .records import RunDir

    if run_dir is None:
        return
    with contextlib.suppress(OSError):
        run_dir.mkdir(parents=True, exist_ok=True)
        rd = RunDir(run_dir)
        prior = rd.summary() or {}
        if prior.get("status") == "done":
            return
        rd.update_summary(status=state.lower(), slurm_job=job_id, reason=reason)
