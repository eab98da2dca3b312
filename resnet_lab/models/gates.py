"""A unit's gate: what stands between its branch and the addition, ``x + gate(F(x))``.

He et al. 2015 add the branch as it is (``Identity``). The gate is the one place where the ideas
that followed plug in, each a small class with the same two methods: ``computes()``, asked before
the branch runs (a gate may skip the branch for a whole mini-batch, which is then not computed),
and ``forward(y)``, applied to the branch's output. ``GATES`` names them for ``model.gate``;
``make_gate`` builds the gate of unit ``index`` (1..count) of a net.

- ``stochastic_depth`` (Huang et al. 2016): in training, each mini-batch keeps unit l's branch
  with probability p_l = 1 - l/L (1 - p_L) (their Eq. 4: a linear decay from 1 at the input to
  ``model.survival_last`` p_L at the last of the L units) and otherwise skips it, not computed:
  the unit is its shortcut (Eq. 2). At test time every branch runs, scaled by its p_l (Eq. 5).
  The draws are a function of the run's seed, the unit and the number of mini-batches it has
  seen (kept in the state dict), so a resumed run draws what an uninterrupted one would, and
  every DDP rank draws alike.
- ``rezero`` (Bachlechner et al. 2020; with model.norm=none, De & Smith 2020's SkipInit):
  ``alpha * F(x)`` with one learnable scalar alpha per unit, starting at 0, so that each unit
  starts as its shortcut.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Identity(nn.Module):
    """The paper's unit: the branch is always computed and added as it is."""

    def computes(self) -> bool:
        return True

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y


class StochasticDepth(nn.Module):
    """Keeps the branch for a mini-batch with probability ``survival`` while training; scales it
    by ``survival`` at test time."""

    def __init__(self, survival: float, unit: int) -> None:
        super().__init__()
        self.survival = survival
        # the stream of this gate's draws: the run's seed (torch's, as the run set it before
        # building the net), the unit, and the draws made so far, saved with the weights
        self.register_buffer("stream", torch.tensor([torch.initial_seed() % 2**62, unit]))
        self.register_buffer("draws", torch.zeros((), dtype=torch.int64))

    def computes(self) -> bool:
        if not self.training:
            return True
        keys = [*self.stream.tolist(), int(self.draws)]
        self.draws += 1
        u = np.random.SeedSequence(keys).generate_state(1, np.uint64)[0] / 2.0**64
        return bool(u < self.survival)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y if self.training else y * self.survival

    def extra_repr(self) -> str:
        return f"survival={self.survival:.4g}"


class ReZero(nn.Module):
    """``alpha * F(x)``, one learnable scalar alpha per unit, starting at 0."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(()))

    def computes(self) -> bool:
        return True

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.alpha * y


def survival(index: int, count: int, survival_last: float) -> float:
    """Huang et al.'s linear decay rule (Eq. 4): p_l = 1 - l/L (1 - p_L), l = 1..L."""
    return 1.0 - index / count * (1.0 - survival_last)


# model.gate -> the gate of unit `index` (1..count) of a net, given the model's options
GATES = {
    "identity": lambda index, count, options: Identity(),
    "stochastic_depth": lambda index, count, options: StochasticDepth(
        survival(index, count, options.survival_last), index),
    "rezero": lambda index, count, options: ReZero(),
}


def make_gate(kind: str, index: int, count: int, options) -> nn.Module:
    return GATES[kind](index, count, options)
