"""The LightningModule: cross-entropy, error rates (%), SGD and the iteration schedule.

Everything goes through Lightning's own mechanisms, so ``trainer.callback_metrics``, progress
bars, EarlyStopping, LearningRateMonitor and every logger see it:
- ``train/error``, ``train/loss``, ``lr``: ``self.log`` every ``log_every`` iterations, each the
  mean over those iterations;
- ``train/grad_norm`` (``log_grad_norm``, off by default): the global L2 norm of the loss's
  gradients in the log point's own iteration (not a window mean), taken after backward and
  before SGD's step (``on_before_optimizer_step``);
- ``val/error``, ``test/error`` (``*/top5_error`` on ImageNet): Lightning's validation loop every
  ``eval_every`` iterations (the data module's val and test sets), logged as torchmetrics objects;
- ``test/error`` again from ``trainer.test`` on the finished network;
- the lr: ``IterationLR``, a torch LR scheduler stepped per iteration (``configure_optimizers``).

Every value is logged against the iteration (the x-axis of the paper's figures) through
Lightning's ``step`` key. The hot loop keeps metric state on the device and reads it back once
per ``log_every`` iterations (during the warm-up of very deep nets, once per iteration), so
logging does not stall a GPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch._dynamo.exc import BackendCompilerFailed
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from .errors import DivergenceError
from .metric_names import (
    EVAL_ERRORS,
    EVAL_SPLITS,
    GRAD_NORM,
    LR,
    STEP,
    TRAIN_ERROR,
    TRAIN_LOSS,
    eval_metric,
)
from .models.build import build_model
from .models.choices import family_of
from .schedule import IterationLR, LrSchedule, warmup_enabled


class ErrorRate(MulticlassAccuracy):
    """Top-k error in % (the paper plots errors, not accuracies)."""

    def __init__(self, num_classes: int, top_k: int = 1) -> None:
        # validate_args=False: the argument checks read tensors back to the host every update
        super().__init__(num_classes, top_k=top_k, average="micro", validate_args=False)

    def compute(self) -> torch.Tensor:
        # float64, as the records have always held it (a float32 error is off in the 6th digit)
        return 100.0 * (1.0 - super().compute().double())


def averaged_softmax(net: Callable[[torch.Tensor], torch.Tensor], views) -> torch.Tensor:
    """Class scores (B, classes) of images seen in several views: the softmax averaged over each
    image's views. The paper does not say softmax or logits; AlexNet, whose 10-crop testing it
    adopts ([21]), averages the softmax, as does VGG's multi-scale testing ([41]).
    ``views``: a (B, V, C, H, W) tensor of same-size views (ten_crop), one forward pass; or a
    list (per image) of lists (per scale) of (C, H, W) tensors of any size (multiscale), each
    whole image through the net alone (global average pooling makes the net fully convolutional)."""
    if isinstance(views, torch.Tensor):
        b, v = views.shape[:2]
        return net(views.flatten(0, 1)).float().softmax(-1).view(b, v, -1).mean(1)
    return torch.stack([torch.stack([net(x[None]).float().softmax(-1)[0] for x in image]).mean(0)
                        for image in views])


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
        log_grad_norm: bool = False,
    ) -> None:
        super().__init__()
        # plain dicts only: checkpoints stay loadable with weights_only=True
        self.save_hyperparameters(dict(model=dict(model), optim=_plain(optim), log_every=log_every,
                                       top5=top5, channels_last=channels_last, compile=compile,
                                       compile_mode=compile_mode, log_grad_norm=log_grad_norm))
        self.model = build_model(model)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if compile:
            self.model.compile(mode=compile_mode)  # in place: the state_dict keeps its names
        self._eager = False  # set when the compiler failed
        self.log_every = log_every
        self.log_grad_norm = log_grad_norm
        self._grad_norm: torch.Tensor | None = None  # the last iteration's, on the device
        self.schedule = LrSchedule(optim, warmup_enabled(optim["warmup"]["enabled"], family_of(model), model["depth"]))
        n = model["num_classes"]
        self.train_error = ErrorRate(n)
        self.train_loss = MeanMetric(nan_strategy="disable")  # NaNs must reach the divergence guard
        for m in (self.train_error, self.train_loss):
            m.persistent(True)  # a run resumed between two log points averages the same iterations
        ks = {name: k for name, k in EVAL_ERRORS.items() if top5 or k == 1}
        self.eval_metrics = nn.ModuleDict({
            split: nn.ModuleDict({name: ErrorRate(n, k) for name, k in ks.items()})
            for split in EVAL_SPLITS
        })
        self.events: list[str] = []  # one-off messages (warm-up end, lr drops) for the progress display

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._eager:
            with torch.compiler.set_stance("force_eager"):
                return self.model(x)
        try:
            return self.model(x)
        except BackendCompilerFailed as e:  # the compiler failed (inductor included); any other error is real
            warnings.warn(f"torch.compile failed ({type(e).__name__}: {e}); continuing without it.",
                          stacklevel=2)
            self._eager = True
            return self.forward(x)

    # ---------------------------------------------------------------- training
    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.train_error.update(logits.detach(), y)
        self.train_loss.update(loss.detach())
        step = self.global_step  # iterations completed before this one
        if self.schedule.warming_up:
            self._observe_warmup(step, logits.detach(), y, loss.detach())
        if (step + 1) % self.log_every == 0:
            self._log_train(step + 1)
        return loss

    def _observe_warmup(self, step: int, logits: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        # the warm-up's rule reads every iteration's error: the one place with a host sync per step
        error = self.all_gather(100.0 * (logits.argmax(1) != y).float().mean()).mean().item()
        if not torch.isfinite(loss):
            self._diverged(step + 1, loss.item())
        if self.schedule.observe_train_error(step, error):
            running = self.schedule.running_error()
            extra = f" (running training error {running:.1f}%)" if running is not None else ""
            self.events.append(f"warm-up ended at iteration {step + 1}{extra}; "
                               f"lr {self.schedule.lr(step + 1):g} from now on")

    def on_train_epoch_end(self) -> None:
        # the one endless epoch ends with the run: its last, partial window of iterations is
        # logged too (a run shorter than log_every would otherwise record no training error)
        if self.global_step % self.log_every:
            self._log_train(self.global_step, on_step=False)
            if self._grad_norm is not None:
                self.log(GRAD_NORM, self._grad_norm, on_step=False, on_epoch=True)

    def on_before_optimizer_step(self, optimizer) -> None:
        # after backward (and, under fp16 AMP, after Lightning has unscaled the gradients), before
        # SGD's step, which adds the weight decay itself: the norm of the loss's own gradient.
        # Each log point's value is its own iteration's, not a mean over the window as the loss
        # is: no state to checkpoint, so a resumed run logs what an uninterrupted one does.
        if not self.log_grad_norm:
            return
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        self._grad_norm = torch.nn.utils.get_total_norm(grads, norm_type=2.0)
        if (self.global_step + 1) % self.log_every == 0:  # training_step logged `step` already
            self.log(GRAD_NORM, self._grad_norm, on_step=True, on_epoch=False)

    def _log_train(self, step: int, on_step: bool = True) -> None:
        error, loss = self.train_error.compute(), self.train_loss.compute()
        self.train_error.reset()
        self.train_loss.reset()
        if not torch.isfinite(loss):
            self._diverged(step, loss.item())
        # float64: Lightning would store a Python float as float32 (lr 0.1 -> 0.10000000149)
        lr = torch.tensor(self._lr(), dtype=torch.float64)
        self.log_dict({TRAIN_ERROR: error, TRAIN_LOSS: loss, LR: lr, STEP: float(step)},
                      on_step=on_step, on_epoch=not on_step)

    def _lr(self) -> float:
        return self.optimizers().param_groups[0]["lr"]

    def _diverged(self, step: int, loss: float) -> None:
        raise DivergenceError(
            f"training diverged by iteration {step}: the loss is {loss} at lr {self._lr():g}. "
            f"Lower optim.lr, or warm up first (optim.warmup.enabled=true: lr 0.01 until the "
            f"training error is below 80%, as the paper does for ResNet-110 and deeper).", step)

    def configure_optimizers(self):
        o = self.hparams.optim
        optimizer = torch.optim.SGD(
            param_groups(self.model, o["weight_decay"], o["decay_bn_and_bias"]),
            lr=self.schedule.lr(0), momentum=o["momentum"], nesterov=o["nesterov"],
            **sgd_kernels(o.get("implementation", "auto"), self.device))
        scheduler = IterationLR(optimizer, self.schedule)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}

    # ---------------------------------------------------------------- evaluation
    def _eval_names(self) -> list[str]:
        dm = self.trainer.datamodule if self._trainer is not None else None
        return getattr(dm, "eval_names", ["val", "test"])

    def _evaluate(self, split: str, batch, scores: torch.Tensor | None = None) -> None:
        x, y = batch
        logits = self(x) if scores is None else scores
        for name, metric in self.eval_metrics[split].items():
            metric.update(logits, y)
            self.log(eval_metric(split, name), metric, on_step=False, on_epoch=True, add_dataloader_idx=False)

    def _log_step(self) -> None:
        # evaluations are logged at the iteration they follow, as the training curves are
        self.log(STEP, float(self.global_step), on_step=False, on_epoch=True, sync_dist=True)

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate(self._eval_names()[dataloader_idx], batch)

    def on_validation_epoch_end(self) -> None:
        self._log_step()
        if self.schedule.mode != "plateau":
            return
        first = self._eval_names()[0]
        error = self.eval_metrics[first]["error"].compute().item()
        if self.schedule.observe_val_error(error):
            self.lr_schedulers().refresh()
            self.events.append(f"{first} error stalled: lr divided by {1 / self.schedule.gamma:g} "
                               f"after iteration {self.global_step}")

    def test_step(self, batch, batch_idx: int) -> None:
        x, _ = batch
        # one view per image (a 4-d batch): its logits; several (ImageNet's data.test_mode=ten_crop
        # or multiscale): their softmax averaged per image
        several = not (isinstance(x, torch.Tensor) and x.ndim == 4)
        self._evaluate("test", batch, averaged_softmax(self, x) if several else None)

    def on_test_epoch_end(self) -> None:
        self._log_step()


def _plain(obj):
    """Nested mappings/sequences as plain dicts/lists (e.g. from OmegaConf)."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
