"""What run.py does for each Hydra job, and the end-of-sweep summary.

A single run that meets bad input prints one sentence and exits with status 2. In a multirun,
a failing job is recorded as failed (in its summary.json, with the reason) and the other jobs
run on; the sweep ends with a table of all jobs and a non-zero exit if any failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from .callbacks.progress import format_duration
from .credentials import masked_override
from .errors import Interrupted, ResnetLabError
from .records import SUMMARY, RunDir, atomic_write
from .runlock import LOCK, RunDirBusy, holder
from .tables import write_table
from .train import train

HYDRA_ONLY = {"run.log", ".hydra", LOCK}


def _remove_if_untouched(run_dir: Path) -> None:
    """Hydra creates the run directory before the config is checked; a rejected run leaves
    nothing behind (and a directory holding anything of ours is never touched)."""
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= HYDRA_ONLY:
        shutil.rmtree(run_dir, ignore_errors=True)


def _save_overrides(run_dir: Path) -> None:
    overrides = [masked_override(o) for o in HydraConfig.get().overrides.task]
    if run_dir.is_dir():
        atomic_write(run_dir / "overrides.txt", "\n".join(overrides) + "\n")


class _Tee:
    """A text stream that writes to the terminal and to the job's run.log."""

    def __init__(self, stream, log) -> None:
        self.stream, self.log = stream, log

    def write(self, text: str) -> int:
        self.log.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.stream.flush()

    def __getattr__(self, name: str):  # isatty, fileno, encoding: the terminal's
        return getattr(self.stream, name)


@contextlib.contextmanager
def job_log(path: Path):
    """Everything the job prints goes to ``run.log`` too; Python's warnings (deprecations,
    Lightning's hints) and W&B's chatter go there only, so the terminal keeps what a user reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")  # W&B's own logs stay in the run's wandb/ folder
    with open(path, "a", buffering=1) as log, warnings.catch_warnings():
        def to_log(message, category, filename, lineno, file=None, line=None):
            log.write(warnings.formatwarning(message, category, filename, lineno, line))

        warnings.showwarning = to_log
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err


def run_job(cfg: DictConfig) -> dict[str, Any]:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    with job_log(run_dir / "run.log"):
        return _run_job(cfg, run_dir, hc)


# The number of jobs of the multirun in progress, for "job k of n" (set by SweepSummary; jobs
# that a parallel launcher runs in other processes say "job k" alone).
_sweep_size: int | None = None


def _run_job(cfg: DictConfig, run_dir: Path, hc) -> dict[str, Any]:
    multirun = hc.mode == RunMode.MULTIRUN
    job = f"job {hc.job.num + 1}" + (f" of {_sweep_size}" if _sweep_size else "") if multirun else "run"
    if multirun:
        print(f"\n== {job}: {run_dir.name}", flush=True)
    try:
        summary = train(cfg, run_dir)
        _save_overrides(run_dir)
        RunDir(run_dir).touch_summary()  # this command saw it (see SweepSummary), retrained or not
        return summary
    except Interrupted as e:
        from .slurm import requeue_after_stop

        print(f"\n{e}; run the same command to resume.", file=sys.stderr, flush=True)
        requeue_after_stop(e.signum if e.saved else None)  # SLURM's pre-emption: requeued, resumes
        sys.exit(e.exit_code)  # the shell's status for a command ended by that signal
    except RunDirBusy as e:  # another process's run: its directory and records are left alone
        if not multirun:
            print(f"error: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
        # two sweeps into one directory share its jobs: the other process trains this one
        print(f"{job}: already running ({e.who}); moving on to the next job", flush=True)
        return {"status": "running", "reason": f"already running ({e.who})"}
    except ResnetLabError as e:
        if not multirun:
            _remove_if_untouched(run_dir)
            print(f"error: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
        print(f"{job} failed: {e}", file=sys.stderr, flush=True)
        return _failed(run_dir, str(e))  # the sentence the job printed
    except Exception as e:
        if not multirun:
            raise
        traceback.print_exc()
        print(f"{job} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return _failed(run_dir, f"{type(e).__name__}: {e}")


def _failed(run_dir: Path, reason: str) -> dict[str, Any]:
    rd = RunDir(run_dir)
    if run_dir.is_dir():
        with contextlib.suppress(OSError):  # a full or read-only disk refuses the record too
            rd.update_summary(status="failed", reason=reason)
            _save_overrides(run_dir)
    return {"status": "failed", "reason": reason}


SUMMARY_COLUMNS = ("job", "status", "test_error", "restarts", "updated", "reason")


def _swept(config: DictConfig, prefix: str) -> bool:
    """Whether a multirun sweeps any key under ``prefix`` (its own grid or the command line)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys = list((config.hydra.sweeper.get("params") or {}).keys())
    keys += [o.get_key_element() for o in OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
             if o.is_sweep_override()]
    return any(k.lstrip("+~") == prefix or k.lstrip("+~").startswith(prefix + ".") for k in keys)


def check_data_once(config: DictConfig) -> None:
    """When every job of a multirun reads the same data set, a missing one (that cannot be
    fetched) is said once, before any job starts, instead of once per job."""
    from omegaconf import OmegaConf

    from .data.build import build_datamodule
    from .errors import DataCorruptError, DataNotFoundError

    if _swept(config, "data") or _swept(config, "paths"):
        return
    try:
        build_datamodule(OmegaConf.to_container(config.data, resolve=True), 0).load()
    except (DataNotFoundError, DataCorruptError) as e:
        print(f"error: {e} (every job of this sweep needs it; none was started)", file=sys.stderr, flush=True)
        sys.exit(2)
    except Exception:  # noqa: BLE001 - anything else is each job's to report, with its own config
        return


def restarts(summary: dict) -> str:
    """``requeued by SLURM twice; resumed from iterations 40, 80``: how a job got to its end,
    from its record (train.py keeps both), or "" for a run that went through in one go."""
    parts = []
    if n := summary.get("requeued"):
        parts.append(f"requeued by SLURM {_times(n)}")
    if at := summary.get("resumed_at"):
        parts.append(f"resumed from iteration{'s' * (len(at) > 1)} {', '.join(map(str, at))}")
    return "; ".join(parts)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


class SweepSummary(Callback):
    """At a multirun's end: a table of its jobs, read from each job's own ``summary.json``, saved
    as ``sweep_summary.csv/.md`` in the sweep directory; a non-zero exit if any job failed.

    Every job of the command writes or touches its ``summary.json`` (a finished job that is not
    retrained too), so "this command's jobs" are those touched since it started; the saved table
    also keeps the rows of the directory's earlier jobs (a rerun of part of the grid, an added
    depth), each with the time it was last updated. The summaries are files, not memory:
    parallel launchers (joblib, SLURM) run the jobs in other processes.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _sweep_size
        check_data_once(config)
        self.started = time.time() - 1  # file times may be rounded down to the second
        try:  # the basic sweeper's grid; other sweepers (W&B, Optuna) choose their own jobs
            from .compose import sweep_jobs

            _sweep_size = len(sweep_jobs(list(config.hydra.overrides.task)))
            print(f"sweep {config.hydra.sweep.dir}: {_sweep_size} jobs", flush=True)
        except Exception:  # noqa: BLE001 - a count is a courtesy, never a reason to stop
            _sweep_size = None

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        started = getattr(self, "started", 0)
        rows, ours, busy = [], [], set()
        for job in sorted({p.parent for p in sweep_dir.glob(f"*/{SUMMARY}")}
                          | {p.parent for p in sweep_dir.glob(f"*/{LOCK}")}):
            s = RunDir(job).summary() or {}
            who = holder(job)
            if not s and not who:
                continue  # nothing run there (a job refused before any work)
            error = s.get("test_error")
            mtime = (job / SUMMARY).stat().st_mtime if s else time.time()
            status, reason = s.get("status", "unknown"), s.get("reason")
            if who:  # another process (a second sweep into this directory) is training it now
                status, reason = "running", f"already running ({who})"
                busy.add(job.name)
            row = dict(job=job.name, status=status,
                       test_error=None if error is None else round(error, 2), restarts=restarts(s),
                       updated=datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds"),
                       reason=reason)
            rows.append(row)
            if mtime >= started:
                ours.append(row)
        elsewhere = [r for r in ours if r["job"] in busy]
        failed = [r for r in ours if r["status"] != "done" and r["job"] not in busy]
        print(f"\nsweep {sweep_dir}: {len(ours) - len(failed) - len(elsewhere)} of {len(ours)} jobs "
              f"done, {len(failed)} failed"
              + (f", {len(elsewhere)} running in another process" if elsewhere else "")
              + f", in {format_duration(time.time() - started - 1)}", flush=True)
        for r in ours:
            if r["status"] == "done":
                print(f"  done    {r['job']}: test error {r['test_error']:.2f}%"
                      + (f" ({r['restarts']})" if r["restarts"] else ""))
            elif r["job"] in busy:
                print(f"  running {r['job']}: {r['reason']}")
            else:
                print(f"  FAILED  {r['job']}: {r['reason'] or r['status']}")
        older = len(rows) - len(ours)
        csv_path, _ = write_table(rows, SUMMARY_COLUMNS, sweep_dir / "sweep_summary", echo=False,
                                  notes=f"updated: when the job's summary.json last changed (UTC); "
                                        f"{older} of these {len(rows)} jobs were run by earlier commands.")
        print(f"  (saved as {csv_path} and .md"
              + (f", with {older} older job{'s' * (older != 1)} of earlier commands in this directory)"
                 if older else ")"), flush=True)
        if failed:
            print("re-run the same command to retry the failed jobs; finished jobs are not retrained.",
                  flush=True)
            sys.exit(1)
