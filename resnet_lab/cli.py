"""What run.py does for each Hydra job, and the end-of-sweep summary.

A single run that meets bad input prints one sentence and exits with status 2. In a multirun,
a failing job is recorded as failed (in its summary.json, with the reason) and the other jobs
run on; the sweep ends with a table of all jobs and a non-zero exit if any failed.
"""

from __future__ import annotations

import shutil
import sys
import traceback
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from .errors import ResnetLabError
from .records import RunDir, atomic_write
from .train import train

HYDRA_ONLY = {"run.log", ".hydra"}


def _remove_if_untouched(run_dir: Path) -> None:
    """Hydra creates the run directory before the config is checked; a rejected run leaves
    nothing behind (and a directory holding anything of ours is never touched)."""
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= HYDRA_ONLY:
        shutil.rmtree(run_dir, ignore_errors=True)


def _save_overrides(run_dir: Path) -> None:
    overrides = list(HydraConfig.get().overrides.task)
    if run_dir.is_dir():
        atomic_write(run_dir / "overrides.txt", "\n".join(overrides) + "\n")


def run_job(cfg: DictConfig) -> dict[str, Any]:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    job = f"job {hc.job.num}" if multirun else "run"
    try:
        summary = train(cfg, run_dir)
        _save_overrides(run_dir)
        return summary
    except ResnetLabError as e:
        _remove_if_untouched(run_dir)
        if not multirun:
            print(f"error: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
        print(f"{job} failed: {e}", file=sys.stderr, flush=True)
        return _failed(run_dir, f"{type(e).__name__}: {e}")
    except Exception as e:
        if not multirun:
            raise
        traceback.print_exc()
        print(f"{job} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return _failed(run_dir, f"{type(e).__name__}: {e}")


def _failed(run_dir: Path, reason: str) -> dict[str, Any]:
    rd = RunDir(run_dir)
    if run_dir.is_dir():
        rd.update_summary(status="failed", reason=reason)
        _save_overrides(run_dir)
    return {"status": "failed", "reason": reason}


class SweepSummary(Callback):
    """Prints a table of a multirun's jobs at its end and exits non-zero if any failed."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict]] = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            return
        name = Path(HydraConfig.get().runtime.output_dir).name
        if job_return.status == JobStatus.COMPLETED and isinstance(job_return._return_value, dict):
            self.jobs.append((name, job_return._return_value))
        else:
            self.jobs.append((name, {"status": "failed", "reason": repr(job_return._return_value)}))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.jobs:
            return
        failed = [j for j in self.jobs if j[1].get("status") != "done"]
        print(f"\nsweep {config.hydra.sweep.dir}: {len(self.jobs) - len(failed)} of {len(self.jobs)} jobs done, "
              f"{len(failed)} failed", flush=True)
        for name, s in self.jobs:
            if s.get("status") == "done":
                print(f"  done    {name}: test error {s.get('test_error', float('nan')):.2f}%")
            else:
                print(f"  FAILED  {name}: {s.get('reason', 'unknown reason')}")
        if failed:
            print("re-run the same command to retry the failed jobs; finished jobs are not retrained.",
                  flush=True)
            sys.exit(1)
