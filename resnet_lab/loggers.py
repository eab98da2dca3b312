"""Experiment loggers: W&B (online when logged in, offline otherwise), Lightning's CSV, or none.
The run directory's own records (``records.MetricsRecord``) are always added.

A W&B run also carries what the study dashboards (``resnet_lab.dashboard``) draw from, under
the names defined here: flat config fields to filter and group on (``flat_fields``), every
series defined against the iteration (``define_dashboard_metrics``), the run record's final
values in the summary (``finish_wandb``) and Figure 7's per-layer stds as series a line plot
draws across runs (``log_responses``).
"""

from __future__ import annotations

import csv
import netrc
import os
import secrets
import socket
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.loggers import CSVLogger, WandbLogger  # wandb is imported when a run starts

from .credentials import looks_secret, masked_override
from .data.registry import dataset_of
from .metric_names import (
    ITERATION_SERIES,
    RESPONSE_SORTED,
    RESPONSE_STD,
    RESPONSE_X,
    TEST_ERROR,
    TEST_TOP5,
    TRAIN_ERROR,
    VAL_ERROR,
    WANDB_STEP,
    summary_key,
)
from .models.choices import family_of
from .models.naming import label
from .records import MetricsRecord, RunDir

WANDB_ID_FILE = "wandb_run_id"

STEP_KEY = WANDB_STEP  # the iteration, as Lightning's WandbLogger writes it (metric_names.py)
# The job type of a training run: the dashboards' run sets take these runs only.
TRAIN_JOB_TYPE = "train"
# The run record's final values (summary.json) that finish_wandb copies into the W&B summary.
FINAL_FIELDS = ("status", "steps", "params",
                *(summary_key(m) for m in (TEST_ERROR, TRAIN_ERROR, VAL_ERROR, TEST_TOP5)),
                "warmup_ended_at", "device", "precision", "wall_time_s")


def wandb_logged_in() -> bool:
    """True when W&B credentials exist (env or netrc). Only their presence is checked."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


WANDB_CHECK_S = 3.0  # how long the online check waits for W&B's host before going offline


def wandb_url() -> str:
    return os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")


def unreachable(url: str, timeout: float = WANDB_CHECK_S) -> str | None:
    """Why ``url``'s host takes no TCP connection within ``timeout`` seconds, or None when it
    does. The name look-up is inside the bound too (a thread: getaddrinfo has no timeout of its
    own, and a compute node without DNS makes it hang)."""
    u = urlparse(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    result: dict[str, str] = {}

    def connect() -> None:
        try:
            socket.create_connection((u.hostname, port), timeout=timeout).close()
            result["ok"] = ""
        except OSError as e:
            result["error"] = e.strerror or str(e) or type(e).__name__

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    if "ok" in result:
        return None
    return result.get("error") or f"no answer within {timeout:g} s"


def wandb_mode(setting: str) -> str:
    """``auto``: WANDB_MODE if set, else online when logged in, else offline."""
    if setting != "auto":
        return setting
    env = os.environ.get("WANDB_MODE")
    if env in ("online", "offline", "disabled"):
        return env
    if env == "dryrun":
        return "offline"
    return "online" if wandb_logged_in() else "offline"


def without_secrets(obj: Any) -> Any:
    """Drop any config entry whose name looks like a credential's (credentials.py) before it
    leaves the machine."""
    if isinstance(obj, Mapping):
        return {k: without_secrets(v) for k, v in obj.items() if not looks_secret(k)}
    if isinstance(obj, list):
        return [without_secrets(v) for v in obj]
    return obj


def redacted_argv(argv: list[str]) -> list[str]:
    """The command line with every credential's value hidden: W&B records the command line
    (sys.argv) in every run's metadata."""
    return [masked_override(arg) for arg in argv]


def flat_fields(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level W&B config fields that run sets filter and group on without nested keys.

    ``net`` is the paper's legend name (``plain-56``, ``ResNet-34-C``), whatever spelling the
    command used; it replaces the ``net`` shorthand (null unless given) in W&B only, the run's
    config.yaml keeps it. The data set's name is ``dataset``: ``data`` is the data config itself.
    """
    m = cfg["model"]
    return {"net": label(m), "family": family_of(m), "depth": m["depth"], "residual": m["residual"],
            "shortcut": m["shortcut"], "dataset": dataset_of(cfg["data"]).name, "seed": cfg["seed"],
            "study": cfg["study"]}


def define_dashboard_metrics(run) -> None:
    """Every series against the iteration, by name (not only through Lightning's ``*`` glob),
    and Figure 7's series against the layer index."""
    run.define_metric(STEP_KEY)
    for key in ITERATION_SERIES:
        run.define_metric(key, step_metric=STEP_KEY)
    run.define_metric(RESPONSE_X)
    for key in (RESPONSE_STD, RESPONSE_SORTED):
        run.define_metric(key, step_metric=RESPONSE_X)


class StudyWandbLogger(WandbLogger):
    """Lightning's W&B logger for a run of a study: group = the study, name = the run name, the
    run's resolved config (never a credential) plus ``flat_fields``; the W&B id kept in the run
    directory, so a resumed run continues its W&B run. It also defines the dashboards' metrics
    when its run starts (Lightning starts the run lazily, at the first log call; so does this).

    ``mode`` auto: online when logged in (``wandb login`` or WANDB_API_KEY), else offline (files
    under the run directory; ``wandb sync`` uploads them later). ``run_dir``, ``resume_step`` and
    ``run_config`` are given by the run (``build_loggers``), the rest by ``conf/logger/wandb.yaml``.
    """

    runtime_args = ("run_dir", "resume_step", "run_config")

    def __init__(self, project: str, entity: str | None, mode: str, name: str, group: str,
                 tags: list[str], run_dir: str = ".", resume_step: int | None = None,
                 run_config: Mapping[str, Any] | None = None) -> None:
        self.mode, self.run_dir, self.study = wandb_mode(mode), Path(run_dir), group
        # decided now, in seconds: W&B's own online start fails after minutes without a network
        # (a cluster's compute node), with a traceback, and the run marked failed
        self.offline_because = None
        if self.mode == "online":
            why = unreachable(wandb_url())
            if why:
                self.mode, self.offline_because = "offline", f"{wandb_url()} cannot be reached: {why}"
        # under a W&B sweep agent the agent names the run (WANDB_RUN_ID); otherwise the id kept
        # in the run directory lets a resumed run continue its W&B run
        self.run_id = None if os.environ.get("WANDB_SWEEP_ID") or self.mode == "disabled" else _wandb_id(self.run_dir)
        cfg = run_config or {}
        super().__init__(project=project, entity=entity, group=group, name=name,
                         tags=[str(t) for t in tags], id=self.run_id, resume="allow",
                         save_dir=str(run_dir), mode=self.mode, job_type=TRAIN_JOB_TYPE,
                         log_model=False,
                         config={**without_secrets(dict(cfg)), **(flat_fields(cfg) if cfg else {})})
        # Lightning passes anonymous=None, which W&B now answers with a warning on every run
        self._wandb_init.pop("anonymous", None)

    @property
    def enabled(self) -> bool:
        return self.mode != "disabled"

    def describe(self) -> str:
        return (f"W&B {self.mode}" + (f" because {self.offline_because}" if self.offline_because else "")
                + f" (project {self._project}, group {self.study}"
                + (f", run {self.run_id})" if self.run_id else ")")
                + (f", sync later with `wandb sync {self.run_dir / 'wandb'}`" if self.mode == "offline" else ""))

    @property
    def experiment(self):
        starting = self._experiment is None
        if not starting:
            return super().experiment
        argv, sys.argv = sys.argv, redacted_argv(sys.argv)  # read by wandb.init
        try:
            run = super().experiment
        finally:
            sys.argv = argv
        if callable(getattr(run, "define_metric", None)):
            define_dashboard_metrics(run)
        return run


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSV logger, under the run directory's ``csv/``. Lightning's deletes its
    metrics.csv when it starts in a directory that is not empty; a resumed run (``resume_step``)
    keeps the rows up to its checkpoint instead, as the run's own metrics.csv does, and so has
    nothing to warn about. It takes no options: the run gives it all it needs."""

    runtime_args = ("run_dir", "resume_step", "run_config")
    enabled = True

    def __init__(self, run_dir: str = ".", resume_step: int | None = None,
                 run_config: Mapping[str, Any] | None = None) -> None:
        super().__init__(save_dir=str(run_dir), name="csv", version="")
        self._resume_step = resume_step

    def describe(self) -> str:
        return f"and {Path(self.log_dir)}"

    @property
    def experiment(self):
        if self._experiment is not None or self._resume_step is None:
            return super().experiment
        path = Path(self.log_dir) / "metrics.csv"
        header, rows = [], []
        if path.is_file():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                header = list(reader.fieldnames or [])
                rows = [r for r in reader if r.get("step", "").isdigit() and int(r["step"]) <= self._resume_step]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Experiment logs directory .* exists and is not empty")
            writer = super().experiment  # removes the file
        if header:
            with open(path, "w", newline="") as f:
                out = csv.DictWriter(f, fieldnames=header)
                out.writeheader()
                out.writerows(rows)
            writer.metrics_keys = header  # later rows are appended under the same columns
        return writer


def _wandb_id(run_dir: Path) -> str:
    """The run's W&B id, kept in the run directory so a resumed run continues the same W&B run."""
    path = run_dir / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_id = secrets.token_hex(4)
    path.write_text(run_id + "\n")
    return run_id


def build_loggers(cfg: Mapping[str, Any], run_dir: Path, resume_step: int | None) -> tuple[list, str]:
    """The run's loggers: its own records (``records.MetricsRecord``, always) and the ``logger``
    group's (``hydra.utils.instantiate``; none for logger=none), and a line saying where its
    metrics go."""
    from hydra.utils import instantiate

    loggers: list = [MetricsRecord(run_dir, resume_step)]
    where = f"metrics: {run_dir / 'metrics.csv'}"
    if cfg.get("logger"):
        # the run's own arguments after Hydra's: instantiate would build the run config's _target_s
        lg = instantiate(dict(cfg["logger"]), _partial_=True, _convert_="all")(
            run_dir=str(run_dir), resume_step=resume_step, run_config=cfg)
        if lg.enabled:
            loggers.append(lg)
            where += ("; " if isinstance(lg, WandbLogger) else " ") + lg.describe()
    return loggers, where


def finish_wandb(failed: bool) -> None:
    """Close the W&B run so that the next job of a multirun starts its own; first copy the run
    record's final values (summary.json: final errors, status, parameters, device) into the
    W&B summary, so tables and run lists show the same numbers as the run directory."""
    if "wandb" in sys.modules:
        import wandb

        run = wandb.run
        if run is not None:
            # the run directory is the ``dir`` build_loggers gave W&B (save_dir)
            record = RunDir(Path(run.settings.root_dir)).summary() or {}
            final = {k: record[k] for k in FINAL_FIELDS if record.get(k) is not None}
            if final:
                run.summary.update(final)
            wandb.finish(exit_code=1 if failed else 0)


def log_responses(loggers: list, rows: list[dict], step: int, final: bool = True) -> None:
    """Figure 7's numbers to W&B, when a W&B logger is active: the table of every layer's std
    (at iteration ``step``); for the trained net's responses (``final``), also the same stds as
    two series against the layer index (original order and sorted, which a line plot draws for
    every run of a group at once) and the rows in the summary, from which ``resnet_lab.figures``
    draws Figure 7 of a W&B group. A checkpoint's responses (``responses.at_checkpoints``) go to
    the table only: W&B cannot take history rows back, so a second set would join the first."""
    for lg in loggers:
        if not isinstance(lg, WandbLogger):
            continue
        import wandb

        run = lg.experiment
        table = wandb.Table(columns=["layer", "name", "std"],
                            data=[[r["layer"], r["name"], r["std"]] for r in rows])
        run.log({"responses/table": table, STEP_KEY: step})
        if not final:
            continue
        ranked = sorted((r["std"] for r in rows), reverse=True)
        for index, (row, std_sorted) in enumerate(zip(rows, ranked, strict=True), start=1):
            run.log({RESPONSE_X: index, RESPONSE_STD: row["std"], RESPONSE_SORTED: std_sorted})
        run.summary["responses"] = rows
