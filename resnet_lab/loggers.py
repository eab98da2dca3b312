"""Experiment loggers: W&B (online when logged in, offline otherwise), Lightning's CSV, or none.
The run directory's own records (``records.MetricsRecord``) are always added."""

from __future__ import annotations

import netrc
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .records import MetricsRecord

WANDB_ID_FILE = "wandb_run_id"
_SECRET_WORDS = ("key", "token", "secret", "password")


def wandb_logged_in() -> bool:
    """True when W&B credentials exist (env or netrc). Only their presence is checked."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


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
    """Drop any config entry whose name looks like a credential before it leaves the machine."""
    if isinstance(obj, Mapping):
        return {k: without_secrets(v) for k, v in obj.items()
                if not any(w in str(k).lower() for w in _SECRET_WORDS)}
    if isinstance(obj, list):
        return [without_secrets(v) for v in obj]
    return obj


def _wandb_id(run_dir: Path) -> str:
    """The run's W&B id, kept in the run directory so a resumed run continues the same W&B run."""
    path = run_dir / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_id = secrets.token_hex(4)
    path.write_text(run_id + "\n")
    return run_id


def build_loggers(cfg: Mapping[str, Any], run_dir: Path, resume_step: int | None) -> tuple[list, str]:
    """Loggers for a run, and a line describing where its metrics go."""
    loggers: list = [MetricsRecord(run_dir, resume_step)]
    lg = cfg["logger"]
    where = f"metrics: {run_dir / 'metrics.csv'}"
    if lg["name"] == "csv":
        from lightning.pytorch.loggers import CSVLogger

        loggers.append(CSVLogger(save_dir=str(run_dir), name="csv", version=""))
        where += f" and {run_dir / 'csv'}"
    elif lg["name"] == "wandb":
        mode = wandb_mode(lg["mode"])
        if mode != "disabled":
            from lightning.pytorch.loggers import WandbLogger

            # under a W&B sweep agent the agent names the run (WANDB_RUN_ID); otherwise the id
            # kept in the run directory lets a resumed run continue its W&B run
            run_id = None if os.environ.get("WANDB_SWEEP_ID") else _wandb_id(run_dir)
            loggers.append(WandbLogger(
                project=lg["project"], entity=lg["entity"], group=cfg["study"], name=cfg["run_name"],
                tags=[str(t) for t in cfg.get("tags", [])], id=run_id, resume="allow",
                save_dir=str(run_dir), mode=mode, config=without_secrets(dict(cfg)), job_type="train",
                log_model=False))
            where += (f"; W&B {mode} (project {lg['project']}, group {cfg['study']}"
                      + (f", run {run_id})" if run_id else ")")
                      + (f", sync later with `wandb sync {run_dir / 'wandb'}`" if mode == "offline" else ""))
    return loggers, where


def finish_wandb(failed: bool) -> None:
    """Close the W&B run so that the next job of a multirun starts its own."""
    import sys

    if "wandb" in sys.modules:
        import wandb

        if wandb.run is not None:
            wandb.finish(exit_code=1 if failed else 0)


def log_responses(loggers: list, rows: list[dict], step: int) -> None:
    """Figure 7's numbers to W&B, when a W&B logger is active: a table and a line plot."""
    for lg in loggers:
        if type(lg).__name__ != "WandbLogger":
            continue
        import wandb

        run = lg.experiment
        table = wandb.Table(columns=["layer", "name", "std"],
                            data=[[r["layer"], r["name"], r["std"]] for r in rows])
        run.log({"responses/table": table,
                 "responses/std": wandb.plot.line(table, "layer", "std", title="std of layer responses"),
                 "trainer/global_step": step})
        # the rows themselves, so figures can be drawn from a W&B group through the public API
        run.summary["responses"] = rows
