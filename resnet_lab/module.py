"""The LightningModule: cross-entropy, error rates (%), SGD and the iteration schedule.

Metrics are logged against the global step (iterations), which is the x-axis of every figure
in the paper:
- ``train/error``, ``train/loss``: averaged over the last ``log_every`` iterations, with ``lr``;
- ``val/error``, ``test/error`` (``*/top5_error`` on ImageNet): every ``eval_every`` iterations,
  evaluated inside the training loop before any checkpoint of the same iteration is written,
  so a resumed run never skips or repeats an evaluation;
- ``test/error`` again from the final test of the finished network.

The hot loop keeps metric state on the device and reads it back once per ``log_every``
iterations (during the warm-up of very deep nets, once per iteration), so logging does not
stall a GPU.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from .errors import DivergenceError
from .models import build_model
from .schedule import LrSchedule, warmup_enabled


def _accuracy(num_classes: int, top_k: int = 1) -> MulticlassAccuracy:
    # validate_args=False: the argument checks read tensors back to the host every update
    return MulticlassAccuracy(num_classes, top_k=top_k, average="micro", validate_args=False)


def param_groups(model: nn.Module, weight_decay: float, decay_bn_and_bias: bool) -> list[dict]:
    """One group, or two when BN parameters and biases (1-d tensors) are not decayed."""
    if decay_bn_and_bias:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def sgd_kernels(implementation: str, device: torch.device) -> dict:
    """SGD keyword arguments for ``optim.implementation``. ``auto`` picks fused kernels on a GPU
    (one launch for all parameters, which matters for small nets such as ResNet-20) and torch's
    own default elsewhere."""
    if implementation == "auto":
        implementation = "fused" if device.type == "cuda" else "default"
    return {"foreach": {"foreach": True}, "fused": {"fused": True}}.get(implementation, {})


class ResNetModule(L.LightningModule):
    """Wraps any network from ``build_model`` (plain or residual, CIFAR or ImageNet)."""

    def __init__(
        self,
        model: Mapping[str, Any],
        optim: Mapping[str, Any],
        log_every: int = 50,
        top5: bool = False,
        channels_last: bool = False,
        compile: bool = False,
        compile_mode: str = "default",
    ) -> None:
        super().__init__()
        # plain dicts only: checkpoints stay loadable with weights_only=True
        self.save_hyperparameters(dict(model=dict(model), optim=_plain(optim), log_every=log_every,
                                       top5=top5, channels_last=channels_last, compile=compile,
                                       compile_mode=compile_mode))
        self.model = build_model(model)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # the compiled callable is kept off the module tree: no duplicate parameters in state_dict
        object.__setattr__(self, "_compiled", torch.compile(self.model, mode=compile_mode) if compile else None)
        self.log_every = log_every
        self.schedule = LrSchedule(optim, warmup_enabled(optim["warmup"]["enabled"], model["family"], model["depth"]))
        n = model["num_classes"]
        self.train_acc = _accuracy(n)
        self.train_loss = MeanMetric(nan_strategy="disable")  # NaNs must reach the divergence guard
        for m in (self.train_acc, self.train_loss):
            m.persistent(True)  # a run resumed between two log points averages the same iterations
        ks = {"top1": 1, "top5": 5} if top5 else {"top1": 1}
        self.eval_metrics = nn.ModuleDict({
            split: nn.ModuleDict({name: _accuracy(n, k) for name, k in ks.items()})
            for split in ("val", "test")
        })
        self.latest: dict[str, float] = {}  # last logged values (progress bar, summary)
        self.events: list[str] = []  # one-off messages (warm-up end, lr drops) for the progress display

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._compiled is not None:
            try:
                return self._compiled(x)
            except Exception as e:  # noqa: BLE001 - any compiler failure falls back to eager
                warnings.warn(f"torch.compile failed ({type(e).__name__}: {e}); continuing without it.",
                              stacklevel=2)
                object.__setattr__(self, "_compiled", None)
        return self.model(x)

    # ---------------------------------------------------------------- logging
    def emit(self, metrics: dict[str, float], step: int) -> None:
        """Send metrics to every logger (run records, W&B, CSV) at iteration ``step``."""
        self.latest.update(metrics)
        for logger in self.loggers:
            logger.log_metrics(metrics, step=step)

    def current_lr(self) -> float:
        return self.trainer.optimizers[0].param_groups[0]["lr"]

    # ---------------------------------------------------------------- training
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        lr = self.schedule.lr(self.global_step)
        for group in self.trainer.optimizers[0].param_groups:
            group["lr"] = lr

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.train_acc.update(logits.detach(), y)
        self.train_loss.update(loss.detach())
        step = self.global_step  # iterations completed before this one
        if self.schedule.warming_up:
            error = 100.0 * (logits.detach().argmax(1) != y).float().mean()
            error = self.trainer.strategy.reduce(error, reduce_op="mean").item()
            if not math.isfinite(loss.item()):
                self._diverged(step + 1, loss.item())
            if self.schedule.observe_train_error(step, error):
                running = self.schedule.running_error()
                extra = f" (running training error {running:.1f}%)" if running is not None else ""
                self.events.append(f"warm-up ended at iteration {step + 1}{extra}; "
                                   f"lr {self.schedule.lr(step + 1):g} from now on")
        if (step + 1) % self.log_every == 0:
            self._log_train(step + 1)
        return loss

    def _log_train(self, step: int) -> None:
        error = 100.0 * (1.0 - self.train_acc.compute().item())
        loss = self.train_loss.compute().item()
        self.train_acc.reset()
        self.train_loss.reset()
        if not math.isfinite(loss):
            self._diverged(step, loss)
        self.emit({"train/error": error, "train/loss": loss, "lr": self.current_lr()}, step)

    def _diverged(self, step: int, loss: float) -> None:
        raise DivergenceError(
            f"training diverged by iteration {step}: the loss is {loss} at lr {self.current_lr():g}. "
            f"Lower optim.lr, or warm up first (optim.warmup.enabled=true: lr 0.01 until the "
            f"training error is below 80%, as the paper does for ResNet-110 and deeper).")

    def configure_optimizers(self):
        o = self.hparams.optim
        return torch.optim.SGD(
            param_groups(self.model, o["weight_decay"], o["decay_bn_and_bias"]),
            lr=self.schedule.lr(0), momentum=o["momentum"], nesterov=o["nesterov"],
            **sgd_kernels(o.get("implementation", "auto"), self.device))

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, loaders: dict[str, Any]) -> dict[str, float]:
        """Error rates (%) on each named evaluation set with the current weights, logged at the
        current iteration. Runs inside the training loop (see ``PeriodicEvaluation``)."""
        trainer = self.trainer
        was_training = self.training
        self.eval()
        try:
            with trainer.precision_plugin.forward_context():
                for split, loader in loaders.items():
                    for batch in loader:
                        self._update_eval(split, trainer.strategy.batch_to_device(batch))
        finally:
            self.train(was_training)
        metrics = {}
        for split in loaders:
            metrics.update(self._compute_eval(split))
        self.emit(metrics, self.global_step)
        first = next(iter(loaders))
        if self.schedule.observe_val_error(metrics[f"{first}/error"]):
            self.events.append(f"{first} error stalled: lr divided by {1 / self.schedule.gamma:g} "
                               f"after iteration {self.global_step}")
        return metrics

    def _update_eval(self, split: str, batch) -> None:
        x, y = batch
        logits = self(x)
        for metric in self.eval_metrics[split].values():
            metric.update(logits, y)

    def _compute_eval(self, split: str) -> dict[str, float]:
        out = {}
        for name, metric in self.eval_metrics[split].items():
            key = f"{split}/error" if name == "top1" else f"{split}/top5_error"
            out[key] = 100.0 * (1.0 - metric.compute().item())
            metric.reset()
        return out

    def test_step(self, batch, batch_idx: int) -> None:
        self._update_eval("test", batch)

    def on_test_epoch_end(self) -> None:
        self.emit(self._compute_eval("test"), self.global_step)

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["lr_schedule"] = self.schedule.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "lr_schedule" in checkpoint:
            self.schedule.load_state_dict(checkpoint["lr_schedule"])


def _plain(obj):
    """Nested mappings/sequences as plain dicts/lists (e.g. from OmegaConf)."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
