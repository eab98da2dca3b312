"""What run.py does for each Hydra job, and the end-of-sweep summary.

A single run that meets bad input prints one sentence and exits with status 2. In a multirun,
a failing job is recorded as failed (in its summary.json, with the reason) and the other jobs
run on; the sweep ends with a table of all jobs and a non-zero exit if any failed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from .errors import ResnetLabError, unknown_keys
from .records import RunDir, atomic_write
from .tables import write_table
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


def unknown_override(args: list[str]) -> str | None:
    """The error for a command-line override of a key the config does not have, naming the
    nearest valid key (Hydra's own message does not); None when all keys exist or when in
    doubt (then Hydra reports whatever is wrong)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from .compose import compose

    try:
        parsed = OverridesParser.create().parse_overrides([a for a in args if not a.startswith("-")])
    except Exception:  # noqa: BLE001 - a syntax error is Hydra's to report
        return None
    checked = [o for o in parsed if "." in o.key_or_group and not o.key_or_group.startswith("hydra")
               and o.package is None and not o.input_line.startswith(("+", "~"))]
    base = []
    for o in parsed:
        if o in checked:
            continue
        # a sweep over groups (data=a,b): any one of them tells which keys exist
        base.append(f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}"
                    if o.is_sweep_override() else o.input_line)
    try:
        cfg = compose(base)
    except Exception:  # noqa: BLE001
        return None
    missing = object()
    for o in checked:
        key = o.key_or_group
        if OmegaConf.select(cfg, key, default=missing) is not missing:
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent, default=None)
        if not isinstance(node, DictConfig):
            return f"unknown option {key}: {parent} is not a group of options."
        return str(unknown_keys(parent, [leaf], node.keys()))
    return None


def check_overrides(args: list[str]) -> None:
    """Exit with one sentence if the command line names an option the config does not have."""
    error = unknown_override(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def run_job(cfg: DictConfig) -> dict[str, Any]:
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    job = f"job {hc.job.num}" if multirun else "run"
    try:
        summary = train(cfg, run_dir)
        _save_overrides(run_dir)
        _log_job(run_dir, summary)
        return summary
    except ResnetLabError as e:
        if not multirun:
            _remove_if_untouched(run_dir)
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
    result = {"status": "failed", "reason": reason}
    _log_job(run_dir, result)
    return result


SWEEP_LOG_ENV = "RESNET_LAB_SWEEP_LOG"


def _log_job(run_dir: Path, result: dict[str, Any]) -> None:
    """Append this job's outcome to the multirun's log (see ``SweepSummary``). The log is a
    file, not memory, because parallel launchers (joblib, SLURM) run jobs in other processes."""
    path = os.environ.get(SWEEP_LOG_ENV)
    if not path:
        return
    line = json.dumps({"job": run_dir.name, "status": result.get("status"),
                       "test_error": result.get("test_error"), "reason": result.get("reason")})
    with open(path, "a") as f:  # one short write per job: appends do not interleave
        f.write(line + "\n")


SUMMARY_COLUMNS = ("job", "status", "test_error", "reason")


def _previous_rows(csv_path: Path) -> dict[str, dict[str, Any]]:
    """The rows of an earlier sweep_summary.csv by job name, or none."""
    if not csv_path.is_file():
        return {}
    with open(csv_path, newline="") as f:
        return {row["job"]: row for row in csv.DictReader(f)}


class SweepSummary(Callback):
    """Prints a table of a multirun's jobs at its end and exits non-zero if any failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        path = sweep_dir / f".jobs-{os.getpid()}-{int(time.time())}.jsonl"
        path.write_text("")
        os.environ[SWEEP_LOG_ENV] = str(path.resolve())

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        path = Path(os.environ.pop(SWEEP_LOG_ENV, "") or "/nonexistent")
        if not path.is_file():
            return
        jobs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        path.unlink()
        failed = [j for j in jobs if j["status"] != "done"]
        print(f"\nsweep {config.hydra.sweep.dir}: {len(jobs) - len(failed)} of {len(jobs)} jobs done, "
              f"{len(failed)} failed", flush=True)
        for j in jobs:
            if j["status"] == "done":
                print(f"  done    {j['job']}: test error {j['test_error']:.2f}%")
            else:
                print(f"  FAILED  {j['job']}: {j['reason'] or j['status']}")
        stem = Path(config.hydra.sweep.dir) / "sweep_summary"
        # the saved table covers every job the sweep directory has seen: a later multirun into the
        # same directory (a subset, an added depth) updates its own rows and keeps the others
        rows = _previous_rows(stem.with_suffix(".csv"))
        rows.update({j["job"]: {**j, "test_error": None if j["test_error"] is None else round(j["test_error"], 2)}
                     for j in jobs})
        csv_path, _ = write_table(list(rows.values()), SUMMARY_COLUMNS, stem, echo=False)
        print(f"  (saved as {csv_path} and .md)", flush=True)
        if failed:
            print("re-run the same command to retry the failed jobs; finished jobs are not retrained.",
                  flush=True)
            sys.exit(1)
