"""The learning-rate schedule, in iterations, with the paper's warm-up for very deep nets.

One object decides the lr of every iteration and is saved in checkpoints, so a resumed run
continues with the same lr (including a warm-up that already ended).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any


def warmup_enabled(setting: Any, family: str, depth: int) -> bool:
    """``auto``: on for CIFAR nets of 110 layers or more, as in the paper (Sec. 4.2)."""
    if setting == "auto":
        return family == "cifar" and depth >= 110
    return bool(setting)


class LrSchedule:
    """lr(step) = base lr x gamma^(milestones passed, or plateaus seen), or the warm-up lr
    while the warm-up lasts.

    Warm-up (``until: error``): the lr stays at ``warmup.lr`` until the mean training error of
    the last ``window`` iterations is below ``error_below`` (80% in the paper, "about 400
    iterations"); ``until: steps`` ends it after a fixed number of iterations instead.
    """

    def __init__(self, optim: Mapping[str, Any], warmup: bool) -> None:
        self.base_lr = float(optim["lr"])
        self.gamma = float(optim["gamma"])
        self.mode = optim["schedule"]
        self.milestones = list(optim["milestones"])
        self.patience = optim["plateau"]["patience"]
        self.threshold = optim["plateau"]["threshold"]
        w = optim["warmup"]
        self.warmup_lr, self.warmup_until = float(w["lr"]), w["until"]
        self.warmup_error_below, self.warmup_steps = float(w["error_below"]), int(w["steps"])
        self.window = deque(maxlen=int(w["window"]))
        # state (checkpointed)
        self.warming_up = warmup
        self.warmup_ended_at: int | None = None
        self.reductions = 0  # plateau mode
        self.best_error = float("inf")
        self.evals_since_best = 0

    # ---------------------------------------------------------------- queries
    def lr(self, step: int) -> float:
        if self.warming_up:
            return self.warmup_lr
        if self.mode == "multistep":
            passed = sum(1 for m in self.milestones if step >= m)
        else:
            passed = self.reductions
        return self.base_lr * self.gamma**passed

    # ---------------------------------------------------------------- observations
    def observe_train_error(self, step: int, error: float) -> bool:
        """Feed iteration ``step``'s training error (%); True when the warm-up ends now."""
        if not self.warming_up:
            return False
        self.window.append(float(error))
        if self.warmup_until == "steps":
            done = step + 1 >= self.warmup_steps
        else:
            done = (len(self.window) == self.window.maxlen
                    and sum(self.window) / len(self.window) < self.warmup_error_below)
        if done:
            self.warming_up = False
            self.warmup_ended_at = step + 1
        return done

    def running_error(self) -> float | None:
        return sum(self.window) / len(self.window) if self.window else None

    def observe_val_error(self, error: float) -> bool:
        """Plateau mode: feed a validation error (%); True when the lr is divided now."""
        if self.mode != "plateau" or self.warming_up:
            return False
        if error < self.best_error - self.threshold:
            self.best_error, self.evals_since_best = error, 0
            return False
        self.evals_since_best += 1
        if self.evals_since_best >= self.patience:
            self.reductions += 1
            self.evals_since_best = 0
            self.best_error = error
            return True
        return False

    # ---------------------------------------------------------------- checkpointing
    def state_dict(self) -> dict:
        return dict(warming_up=self.warming_up, warmup_ended_at=self.warmup_ended_at,
                    window=list(self.window), reductions=self.reductions,
                    best_error=self.best_error, evals_since_best=self.evals_since_best)

    def load_state_dict(self, state: Mapping) -> None:
        self.warming_up = state["warming_up"]
        self.warmup_ended_at = state["warmup_ended_at"]
        self.window.clear()
        self.window.extend(state["window"])
        self.reductions = state["reductions"]
        self.best_error = state["best_error"]
        self.evals_since_best = state["evals_since_best"]

    def describe(self, max_steps: int) -> str:
        """One line for the run header, e.g. 'lr 0.01 warm-up until train error < 80%, then 0.1, x0.1 at 32000, 48000'."""
        parts = []
        if self.warming_up:
            until = (f"train error < {self.warmup_error_below:g}%" if self.warmup_until == "error"
                     else f"iteration {self.warmup_steps}")
            parts.append(f"lr {self.warmup_lr:g} until {until}, then")
        parts.append(f"lr {self.base_lr:g}")
        if self.mode == "multistep":
            ms = [m for m in self.milestones if m < max_steps]
            if ms:
                parts.append(f"x{self.gamma:g} at {', '.join(str(m) for m in ms)}")
        else:
            parts.append(f"x{self.gamma:g} when val error stalls for {self.patience} evaluations")
        return " ".join(parts) + f"; {max_steps} iterations"
