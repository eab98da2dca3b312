"""A unit's gate: what stands between its branch and the addition, ``x + gate(F(x))``.

He et al. 2015 add the branch as it is (``Identity``). The gate is the one place where the ideas
that followed plug in, each a small class with the same two methods: ``computes()``, asked before
the branch runs (a gate may skip the branch for a whole mini-batch), and ``forward(y)``, applied to
the branch's output.
"""

from __future__ import annotations

import torch
from torch import nn


class Identity(nn.Module):
    """The paper's unit: the branch is always computed and added as it is."""

    def computes(self) -> bool:
        return True

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y
