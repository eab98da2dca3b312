"""One training run: validate, prepare the run directory, build, fit, test, record.

``train(cfg, run_dir)`` is what ``run.py`` calls for every job (single run or multirun); it
can be called directly with a composed config too. ``python -m resnet_lab.train <run dir>`` is
a DDP rank > 0 started by ``ddp.local_processes``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.rank_zero import _get_rank
from omegaconf import DictConfig, OmegaConf

from . import ddp, hardware, runlock
from .callbacks import PeriodicCheckpoint, format_duration
from .callbacks.stop import StopOnSignal, StopRequested
from .checkpoints import AtomicCheckpointIO, read_checkpoint_step
from .config import validate
from .data.build import build_datamodule
from .data.registry import dataset_of, logs_top5
from .disk import disk_error
from .errors import ConfigError, Interrupted, ResnetLabError, RunDirError
from .loggers import build_loggers, finish_wandb
from .metric_names import TEST_ERROR, TEST_TOP5, TRAIN_ERROR, VAL_ERROR, summary_key
from .models.inspect import count_params
from .records import RunDir, read_metrics

log = logging.getLogger("resnet_lab")


def quiet_lightning() -> None:
    # Lightning's banners (GPU available, TPU available, tips) drown the run's own header.
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # torch 2.14 deprecations inside Lightning 2.6, nothing a user can act on
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated")
    # our training streams restart from the trainer's step (TrainStream, ResumableOrder), which
    # Lightning cannot see: a mid-epoch resume is exact (tests/test_newcomer.py)
    warnings.filterwarnings("ignore", message=r"You're resuming from a checkpoint that ended before the epoch ended")


def resolved(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The config as plain data, interpolations resolved, without Hydra's own node."""
    c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    c.pop("hydra", None)
    return c


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU ({torch.get_num_threads()} threads)"


def _resume_point(rd: RunDir, ckpt_path: str | None) -> tuple[str | None, int | None, str, bool]:
    """Which checkpoint to resume from: the run's own last one, else ``ckpt_path``; and
    whether it is the run's own (a restart the record keeps)."""
    own = rd.last_checkpoint()
    if own is not None:
        step = read_checkpoint_step(own)
        return str(own), step, f"resuming from its last checkpoint (iteration {step})", True
    if ckpt_path:
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise RunDirError(f"ckpt_path={ckpt_path!r} does not exist; give the path of a .ckpt file.")
        step = read_checkpoint_step(path)
        return str(path), step, f"starting from {path} (iteration {step})", False
    return None, None, "starting from scratch", False


def _sync_batchnorm(t: Mapping[str, Any]) -> bool:
    """``auto``: on for multi-GPU DDP. torch's SyncBatchNorm has no CPU kernel."""
    on_gpu = hardware.uses_gpu(t)
    if t["sync_batchnorm"] == "auto":
        return on_gpu and ddp.world_size(t) > 1
    if t["sync_batchnorm"] and not on_gpu:
        raise ConfigError("trainer.sync_batchnorm=true needs GPUs (torch's SyncBatchNorm has no CPU "
                          "kernel); valid values on a CPU: false, auto.")
    return t["sync_batchnorm"]


def build_callbacks(c: Mapping[str, Any]) -> list:
    """The ``callbacks`` group's callbacks (``hydra.utils.instantiate``; a ``null`` entry is
    dropped). A target that cannot be built is an error naming the entry, before any work."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    callbacks = []
    for name, spec in (c.get("callbacks") or {}).items():
        if spec is None:
            continue
        try:
            callbacks.append(instantiate(spec))
        except InstantiationException as e:
            raise ConfigError(f"callbacks.{name} cannot be built ({str(e).splitlines()[0]}); give "
                              f"callbacks.{name}._target_ as an importable Lightning Callback class "
                              f"and its arguments as callbacks.{name}.<argument>.") from e
    return callbacks


def build_trainer(c: Mapping[str, Any], run_dir: Path, loggers: list, callbacks: list,
                  numerics: hardware.Numerics):
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar

    t = c["trainer"]
    callbacks = [*callbacks, PeriodicCheckpoint(t["ckpt_every"], t["eval_every"]),
                 StopOnSignal(t["eval_every"])]
    try:
        return L.Trainer(
            accelerator=t["accelerator"], devices=t["devices"], num_nodes=t["num_nodes"],
            strategy=t["strategy"], sync_batchnorm=_sync_batchnorm(t), precision=numerics.precision,
            # one endless epoch; iterations are the unit of every schedule
            max_steps=t["max_steps"], max_epochs=-1,
            val_check_interval=t["eval_every"], check_val_every_n_epoch=None, num_sanity_val_steps=0,
            log_every_n_steps=t["log_every"], logger=loggers or False, callbacks=callbacks,
            plugins=[AtomicCheckpointIO()],
            # Lightning's own progress bar and checkpointing only when the config asks for them
            enable_progress_bar=any(isinstance(cb, ProgressBar) for cb in callbacks),
            enable_checkpointing=any(isinstance(cb, ModelCheckpoint) for cb in callbacks),
            enable_model_summary=False,
            deterministic=t["deterministic"], benchmark=None if t["deterministic"] else True,
            default_root_dir=str(run_dir))
    except MisconfigurationException as e:  # e.g. more devices than the machine has
        raise ConfigError(f"trainer settings cannot run here: {e}") from e


def _announce(c, label, module, params, trainer, how, where, run_dir, data_source, n) -> None:
    t = c["trainer"]
    print(f"resnet_lab: {label} on {dataset_of(c['data']).name} ({params:,} parameters), {how}\n"
          f"  {module.schedule.describe(t['max_steps'])}; batch {c['data']['batch_size']}; "
          f"{device_name(trainer.strategy.root_device)} x {trainer.world_size}\n"
          f"  precision {n.precision}, {'channels_last' if n.channels_last else 'NCHW'} ({n.why})\n"
          f"  data {data_source}\n  run directory {run_dir}\n  {where}", flush=True)


def _restarts(prior: dict | None, own_step: int | None) -> dict:
    """What the run's record keeps of its restarts: the iterations it resumed from its own
    checkpoint (``own_step``, from ``_resume_point``; after a signal, a kill, a crash), and how
    often SLURM requeued its job (pre-emption, ``scontrol requeue``), so that the sweep summary
    can name them."""
    resumed = list((prior or {}).get("resumed_at") or [])
    if own_step is not None:
        resumed.append(own_step)
    out: dict[str, Any] = {"resumed_at": resumed} if resumed else {}
    requeued = int(os.environ.get("SLURM_RESTART_COUNT") or 0)  # SLURM's count for this job
    if requeued:
        out["requeued"] = requeued
    return out


def train(cfg: DictConfig | Mapping, run_dir: str | Path) -> dict[str, Any]:
    """Train and test one network; return the run's summary. Raises ResnetLabError subclasses
    with one-sentence messages for bad input, before any work starts.

    Every rank of a DDP run calls this; only the primary process (global rank 0) writes the
    run directory's records, prints and starts the other local ranks.
    """
    quiet_lightning()
    run_dir = Path(run_dir)
    if _get_rank() not in (None, 0):  # rank 0 holds the directory for all the run's processes
        return _train(cfg, run_dir, primary=False)
    try:
        with runlock.hold(run_dir):  # one writer per run directory, before anything is read there
            return _train(cfg, run_dir, primary=True)
    except OSError as e:  # a read-only or full disk before the run's records could say so
        error = disk_error(run_dir, e)
        if error is None:
            raise
        raise error from e


def _train(cfg: DictConfig | Mapping, run_dir: Path, primary: bool) -> dict[str, Any]:
    validate(cfg)
    c = resolved(cfg)
    rd = RunDir(run_dir)
    label = c["run_name"]
    rd.check_checkpoint()  # config.yaml as the checkpoint has it, before anything trusts it
    rd.check_config(c)
    prior = rd.summary()
    if prior and prior.get("status") == "done":
        if primary:
            print(f"{label}: already done (test error {prior.get('test_error', float('nan')):.2f}% "
                  f"after {prior.get('steps')} iterations); results in {run_dir}. Delete that "
                  f"directory to train again.")
        return prior
    _sync_batchnorm(c["trainer"])
    numerics = hardware.choose(c["trainer"])  # once per run: the header, the trainer, the module, the record
    callbacks = build_callbacks(c)
    dm = build_datamodule(c["data"], c["seed"])
    dm.load()  # a missing or corrupt data set stops here, before anything is written
    ckpt, resume_step, how, own = _resume_point(rd, c.get("ckpt_path"))
    started = time.time()
    if not primary:
        return _fit_and_test(c, rd, dm, ckpt, [], callbacks, "", how, started, primary, numerics)
    rd.write_config(c)
    rd.write_summary(dict(status="running", run_name=label, study=c["study"],
                          started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          **_restarts(prior, resume_step if own else None)))
    loggers, where = build_loggers(c, run_dir, resume_step)
    failed = True
    try:
        with ddp.local_processes(c["trainer"], [sys.executable, "-m", "resnet_lab.train", str(run_dir)]):
            summary = _fit_and_test(c, rd, dm, ckpt, loggers, callbacks, where, how, started, primary,
                                    numerics)
        failed = False
        return summary
    except Interrupted as e:
        rd.update_summary(status="interrupted", steps=e.step, wall_time_s=round(time.time() - started, 1))
        raise
    except BaseException as e:
        error = (disk_error(run_dir, e) if isinstance(e, OSError) else None) or e
        # the one sentence a user read is the record's reason; a full disk may refuse it too
        with contextlib.suppress(OSError):
            if (rd.summary() or {}).get("status") == "running":
                stopped = {"steps": error.step} if getattr(error, "step", None) is not None else {}
                rd.update_summary(status="failed", reason=str(error) if isinstance(error, ResnetLabError)
                                  else f"{type(error).__name__}: {error}",
                                  **stopped,  # where a diverged run stopped
                                  wall_time_s=round(time.time() - started, 1))
        if error is e:
            raise
        raise error from e
    finally:
        finish_wandb(failed)


def build_module(c: Mapping[str, Any], numerics: hardware.Numerics, dm=None):
    """The LightningModule of a resolved config; with channels_last (``numerics``, the run's
    choice: ``hardware.choose``) the data module hands out channels-last batches too."""
    from .module import ResNetModule

    t = c["trainer"]
    channels_last = numerics.channels_last
    module = ResNetModule(
        c["model"], c["optim"], log_every=t["log_every"], top5=logs_top5(c["data"]),
        channels_last=channels_last, compile=t["compile"], compile_mode=t["compile_mode"],
        log_grad_norm=t["log_grad_norm"])
    if channels_last and dm is not None:
        dm.memory_format = torch.channels_last
    return module


def _fit_and_test(c, rd: RunDir, dm, ckpt, loggers, callbacks, where, how, started, primary,
                  numerics: hardware.Numerics) -> dict[str, Any]:
    import lightning as L

    label = c["run_name"]
    L.seed_everything(c["seed"], workers=True, verbose=False)
    trainer = build_trainer(c, rd.path, loggers, callbacks, numerics)
    device = trainer.strategy.root_device
    module = build_module(c, numerics, dm)
    params = count_params(module.model)
    if primary:
        _announce(c, label, module, params, trainer, how, where, rd.path, dm.source, numerics)
        rd.update_summary(device=device_name(device), world_size=trainer.world_size, params=params,
                          data_source=dm.source, **numerics.record())
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt, weights_only=True)
    except StopRequested as e:  # a signal, its iteration saved (callbacks/stop.py)
        raise Interrupted(e.step, e.signum, saved=True) from None
    except SystemExit:
        # Lightning ends a KeyboardInterrupt (a second Ctrl-C) with SystemExit(1) after its clean-up
        if trainer.interrupted:
            raise Interrupted(trainer.global_step) from None
        raise
    trainer.save_checkpoint(str(rd.checkpoint_dir / "last.ckpt"))
    stop = next(cb for cb in trainer.callbacks if isinstance(cb, StopOnSignal))
    if stop.signum is not None:  # came as the last iteration ended: saved just now, the test not run
        raise Interrupted(trainer.global_step, stop.signum, saved=True)
    trainer.test(module, datamodule=dm, verbose=False)
    if not primary:
        return {"status": "done"}
    # the final values are the last of each curve in the run's own record (the final test is
    # the last test/error row)
    final = {metric: rows[-1][1] for metric, rows in read_metrics(rd.path).items()}
    summary = rd.update_summary(
        status="done", steps=trainer.global_step, params=params,
        **{summary_key(m): final.get(m) for m in (TEST_ERROR, TRAIN_ERROR, VAL_ERROR, TEST_TOP5)},
        warmup_ended_at=module.schedule.warmup_ended_at,
        wall_time_s=round(time.time() - started, 1), device=device_name(device),
        world_size=trainer.world_size, torch=torch.__version__,
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    summary = {k: v for k, v in summary.items() if v is not None}
    rd.write_summary(summary)
    tr = summary.get("train_error")
    print(f"{label}: test error {summary['test_error']:.2f}%"
          + (f", train error {tr:.2f}%" if tr is not None and math.isfinite(tr) else "")
          + f" after {summary['steps']} iterations in {format_duration(summary['wall_time_s'])}"
          f"; results in {rd.path}", flush=True)
    return summary


def ddp_worker(run_dir: Path) -> None:
    """A DDP rank > 0: train the run whose resolved config rank 0 wrote to ``run_dir``."""
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    try:
        train(cfg, run_dir)
    finally:
        ddp.destroy_process_group()


if __name__ == "__main__":
    ddp_worker(Path(sys.argv[1]))
