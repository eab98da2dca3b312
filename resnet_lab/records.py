"""A run's own records, written in every case (whatever the logger) so that figures can be drawn
offline from a directory of runs:

    <run dir>/config.yaml         resolved, validated config
    <run dir>/metrics.csv         step,metric,value - one row per logged value (errors in %)
    <run dir>/summary.json        status (running | done | failed), final errors, reason, timing
    <run dir>/checkpoints/last.ckpt
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from .config.legacy import upgrade
from .config.neutral import is_result  # the result-neutral keys, also kept out of sweep job names
from .credentials import masked
from .errors import RunDirError
from .models.families import complete

CONFIG, METRICS, SUMMARY, CHECKPOINTS = "config.yaml", "metrics.csv", "summary.json", "checkpoints"

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename: a kill never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; keep the user's usual mode
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


class RunDir:
    """The files of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINTS

    def last_checkpoint(self) -> Path | None:
        p = self.checkpoint_dir / "last.ckpt"
        return p if p.is_file() else None

    def config(self) -> dict | None:
        p = self.path / CONFIG
        return yaml.safe_load(p.read_text()) if p.is_file() else None

    def summary(self) -> dict | None:
        p = self.path / SUMMARY
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            return None

    def check_config(self, cfg: Mapping) -> None:
        """Refuse to reuse a directory whose run was made with another config (a record of
        older code is read in today's keys: legacy.py). A run that ended before its first
        checkpoint (refused at its first evaluation, killed early) trained nothing to keep: the
        corrected command takes its directory over."""
        old = self.config()
        if old is None:
            return
        summary = self.summary()
        if summary is not None and summary.get("status") != "done" and self.last_checkpoint() is None:
            return
        a = {k: v for k, v in flatten(upgrade(old)).items() if is_result(k)}
        b = {k: v for k, v in flatten(masked(cfg)).items() if is_result(k)}  # as written
        diffs = [k for k in sorted(set(a) | set(b)) if a.get(k, "<unset>") != b.get(k, "<unset>")]
        if diffs:
            shown = "; ".join(f"{k}: {a.get(k, '<unset>')!r} there, {b.get(k, '<unset>')!r} here"
                              for k in diffs[:4])
            more = f" and {len(diffs) - 4} more" if len(diffs) > 4 else ""
            raise RunDirError(
                f"{self.path} already holds a run with another config ({shown}{more}); give this run "
                f"its own directory with run_name=<name> (in a multirun: study=<name>), or delete "
                f"that directory to start over.")

    def check_checkpoint(self) -> None:
        """Refuse a directory whose config.yaml no longer says what its checkpoint was trained
        with (a hand-edited or copied config.yaml): the checkpoint is the truth, and a command
        matching the edited file would otherwise resume the other net, or report its results as
        "already done". The model and optim options both hold are compared (a checkpoint of
        older code lacks the options added since)."""
        from .checkpoints import load_checkpoint  # torch: only when a run directory is reused

        ckpt, cfg = self.last_checkpoint(), self.config()
        if ckpt is None or cfg is None:
            return
        trained = load_checkpoint(ckpt).get("hyper_parameters") or {}
        cfg = upgrade(cfg)
        diffs = []
        for group in ("model", "optim"):
            a = flatten(complete(trained[group]) if group == "model" else trained.get(group) or {},
                        f"{group}.") if isinstance(trained.get(group), Mapping) else {}
            b = flatten(cfg.get(group) or {}, f"{group}.")
            diffs += [(k, a[k], b[k]) for k in sorted(set(a) & set(b)) if is_result(k) and a[k] != b[k]]
        if diffs:
            shown = "; ".join(f"{k}: {b!r} in config.yaml, {a!r} in the checkpoint" for k, a, b in diffs[:4])
            more = f" and {len(diffs) - 4} more" if len(diffs) > 4 else ""
            raise RunDirError(
                f"{self.path / CONFIG} no longer matches the run's checkpoint ({shown}{more}); the "
                f"checkpoint is what was trained: restore config.yaml, or delete {self.path} to "
                f"start over.")

    def write_config(self, cfg: Mapping) -> None:
        """The resolved config, credentials masked (credentials.py): a run directory is shared,
        copied and published with its figures."""
        atomic_write(self.path / CONFIG, yaml.safe_dump(masked(dict(cfg)), sort_keys=False))

    def write_summary(self, summary: Mapping) -> None:
        atomic_write(self.path / SUMMARY, json.dumps(dict(summary), indent=2, default=str) + "\n")

    def touch_summary(self) -> None:
        """Mark the summary as seen now without changing it (see ``cli.SweepSummary``)."""
        p = self.path / SUMMARY
        if p.is_file():
            os.utime(p)

    def update_summary(self, **fields) -> dict:
        s = self.summary() or {}
        s.update(fields)
        self.write_summary(s)
        return s


def read_metrics(run_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """``{metric: [(step, value), ...]}`` from a run's metrics.csv, sorted by step; where a
    metric was logged twice at one step (a periodic and the final test), the later row wins."""
    path = Path(run_dir) / METRICS
    by_metric: dict[str, dict[int, float]] = defaultdict(dict)
    if path.is_file():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    by_metric[row["metric"]][int(row["step"])] = float(row["value"])
                except (KeyError, TypeError, ValueError):
                    continue  # a row cut short by a kill
    return {m: sorted(v.items()) for m, v in by_metric.items()}


class MetricsRecord(Logger):
    """Lightning logger that appends every logged value to ``metrics.csv`` at once (a killed run
    loses nothing it logged). ``resume_step`` drops rows logged after the checkpoint that the
    run resumes from, so a resumed run's record equals an uninterrupted one's."""

    def __init__(self, run_dir: str | Path, resume_step: int | None = None) -> None:
        super().__init__()
        self.path = Path(run_dir) / METRICS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if rank_zero_only.rank == 0:
            self._truncate(resume_step)

    def _truncate(self, resume_step: int | None) -> None:
        if resume_step is None or not self.path.is_file():
            # a fresh start: no rows from an earlier attempt
            atomic_write(self.path, "step,metric,value\n")
            return
        keep = ["step,metric,value\n"]
        with open(self.path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    if int(row["step"]) <= resume_step:
                        keep.append(f"{row['step']},{row['metric']},{row['value']}\n")
                except (KeyError, TypeError, ValueError):
                    continue
        atomic_write(self.path, "".join(keep))

    @property
    def name(self) -> str:
        return "records"

    @property
    def version(self) -> str:
        return "0"

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass  # the run directory's config.yaml holds the resolved config

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        with open(self.path, "a") as f:
            for k, v in metrics.items():
                f.write(f"{step},{k},{float(v)!r}\n")
            f.flush()
