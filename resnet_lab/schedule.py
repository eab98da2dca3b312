"""The learning-rate schedule, in iterations, with the paper's warm-up for very deep nets.

Three small pieces, each with its own checkpointed state:
- ``Warmup``: the paper's lr 0.01 "until the training error is below 80%" (ResNet-110);
- ``Plateau``: "divided by 10 when the error plateaus" (ImageNet);
- ``LrSchedule``: the rule that combines them with the milestones into the lr of any iteration.

``IterationLR`` is the torch LR scheduler that applies the rule; Lightning steps it after every
iteration (``interval: step``) and saves its ``state_dict`` (the pieces' state included) in every
checkpoint, so a resumed run continues with the same lr, a warm-up that already ended included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def warmup_enabled(setting: Any, family: str, depth: int) -> bool:
    """``auto``: on for CIFAR nets of 110 layers or more. A reading of the paper (Sec. 4.2),
    which states the warm-up for ResNet-110 and trains ResNet-1202 "as described above"."""
    if setting == "auto":
        return family == "cifar" and depth >= 110
    return bool(setting)


class Warmup:
    """``until: error``: active until the mean training error of the last ``window`` iterations
    is below ``error_below`` (80% in the paper, "about 400 iterations"); ``until: steps``: for a
    fixed number of iterations. ``ramp: constant`` holds ``lr`` (the paper's); ``ramp: linear``
    (Goyal et al. 2017; ``until: steps`` only) raises it from ``lr`` at iteration 0 towards the
    base lr, which iteration ``steps`` reaches, so no single iteration multiplies the lr by 10."""

    def __init__(self, w: Mapping[str, Any], active: bool) -> None:
        self.lr, self.until = float(w["lr"]), w["until"]
        self.ramp = w["ramp"]
        self.error_below, self.steps = float(w["error_below"]), int(w["steps"])
        self.window = deque(maxlen=int(w["window"]))
        self.active = active
        self.ended_at: int | None = None

    def observe(self, step: int, error: float) -> bool:
        """Feed iteration ``step``'s training error (%); True when the warm-up ends now."""
        if not self.active:
            return False
        self.window.append(float(error))
        if self.until == "steps":
            done = step + 1 >= self.steps
        else:
            done = (len(self.window) == self.window.maxlen
                    and sum(self.window) / len(self.window) < self.error_below)
        if done:
            self.active, self.ended_at = False, step + 1
        return done

    def lr_at(self, step: int, base_lr: float) -> float:
        if self.ramp == "linear":
            return self.lr + (base_lr - self.lr) * step / self.steps
        return self.lr

    def running_error(self) -> float | None:
        return sum(self.window) / len(self.window) if self.window else None

    def state_dict(self) -> dict:
        # a list, not the deque: checkpoints are loaded weights-only (plain data)
        return dict(active=self.active, ended_at=self.ended_at, window=list(self.window))

    def load_state_dict(self, state: Mapping) -> None:
        self.active, self.ended_at = state["active"], state["ended_at"]
        self.window.clear()
        self.window.extend(state["window"])


class Plateau:
    """Counts the lr divisions: one after ``patience`` evaluations in a row that do not improve
    the best error by more than ``threshold`` points."""

    def __init__(self, p: Mapping[str, Any]) -> None:
        self.patience, self.threshold = int(p["patience"]), float(p["threshold"])
        self.reductions = 0
        self.best_error = float("inf")
        self.evals_since_best = 0

    def observe(self, error: float) -> bool:
        """Feed an evaluation error (%); True when the lr is divided now."""
        if error < self.best_error - self.threshold:
            self.best_error, self.evals_since_best = error, 0
            return False
        self.evals_since_best += 1
        if self.evals_since_best < self.patience:
            return False
        self.reductions += 1
        self.evals_since_best = 0
        self.best_error = error
        return True

    def state_dict(self) -> dict:
        return dict(reductions=self.reductions, best_error=self.best_error,
                    evals_since_best=self.evals_since_best)

    def load_state_dict(self, state: Mapping) -> None:
        self.reductions = state["reductions"]
        self.best_error = state["best_error"]
        self.evals_since_best = state["evals_since_best"]


class LrSchedule:
    """lr(step) = base lr x gamma^(milestones passed, or plateaus seen), or the warm-up lr
    while the warm-up lasts."""

    def __init__(self, optim: Mapping[str, Any], warmup: bool) -> None:
        self.base_lr = float(optim["lr"])
        self.gamma = float(optim["gamma"])
        self.mode = optim["schedule"]
        self.milestones = list(optim["milestones"])
        self.warmup = Warmup(optim["warmup"], warmup)
        self.plateau = Plateau(optim["plateau"])

    @property
    def warming_up(self) -> bool:
        return self.warmup.active

    @property
    def warmup_ended_at(self) -> int | None:
        return self.warmup.ended_at

    def lr(self, step: int) -> float:
        if self.warmup.active:
            return self.warmup.lr_at(step, self.base_lr)
        if self.mode == "multistep":
            passed = sum(1 for m in self.milestones if step >= m)
        else:
            passed = self.plateau.reductions
        return self.base_lr * self.gamma**passed

    def observe_train_error(self, step: int, error: float) -> bool:
        """Feed iteration ``step``'s training error (%); True when the warm-up ends now."""
        return self.warmup.observe(step, error)

    def running_error(self) -> float | None:
        return self.warmup.running_error()

    def observe_val_error(self, error: float) -> bool:
        """Plateau mode: feed a validation error (%); True when the lr is divided now."""
        if self.mode != "plateau" or self.warmup.active:
            return False
        return self.plateau.observe(error)

    def state_dict(self) -> dict:
        return dict(warmup=self.warmup.state_dict(), plateau=self.plateau.state_dict())

    def load_state_dict(self, state: Mapping) -> None:
        self.warmup.load_state_dict(state["warmup"])
        self.plateau.load_state_dict(state["plateau"])

    def describe(self, max_steps: int) -> str:
        parts = []
        w = self.warmup
        if w.active:
            until = f"train error < {w.error_below:g}%" if w.until == "error" else f"iteration {w.steps}"
            rising = " rising linearly" if w.ramp == "linear" else ""
            parts.append(f"lr {w.lr:g}{rising} until {until}, then")
        parts.append(f"lr {self.base_lr:g}")
        if self.mode == "multistep":
            ms = [m for m in self.milestones if m < max_steps]
            if ms:
                parts.append(f"x{self.gamma:g} at {', '.join(str(m) for m in ms)}")
        else:
            parts.append(f"x{self.gamma:g} when val error stalls for {self.plateau.patience} evaluations")
        return " ".join(parts) + f"; {max_steps} iterations"


class IterationLR(LRScheduler):
    """Sets every parameter group's lr to ``schedule.lr(iteration)``. ``last_epoch`` counts
    iterations here (Lightning steps it once per iteration)."""

    def __init__(self, optimizer: Optimizer, schedule: LrSchedule, last_epoch: int = -1) -> None:
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.schedule.lr(self.last_epoch)] * len(self.optimizer.param_groups)

    def refresh(self) -> None:
        """Re-apply the lr of the current iteration after the rule changed mid-iteration (an
        lr division decided by an evaluation applies from the next iteration on)."""
        lr = self.schedule.lr(self.last_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self._last_lr = [lr] * len(self.optimizer.param_groups)

    def state_dict(self) -> dict:
        return dict(last_epoch=self.last_epoch, _step_count=self._step_count,
                    base_lrs=list(self.base_lrs), _last_lr=list(self._last_lr),
                    schedule=self.schedule.state_dict())

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        self.schedule.load_state_dict(state.pop("schedule"))
        self.__dict__.update(state)
