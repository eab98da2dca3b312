"""A unit's gate: what stands between its branch and the addition, ``x + gate(F(x))``.

He et al. 2015 add the branch as it is (``Identity``). The gate is the one place where the ideas
that followed plug in, each a small class with the same two methods: ``computes()``, asked before
the branch runs (a gate may skip the branch for a whole mini-batch, which is then not computed),
and ``forward(y)``, applied to the branch's output. ``GATES`` names them for ``model.gate``;
``make_gate`` builds the gate of unit ``index`` (1..count) of a net.
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


# model.gate -> the gate of unit `index` (1..count) of a net, given the model's options
GATES = {
    "identity": lambda index, count, options: Identity(),
}


def make_gate(kind: str, index: int, count: int, options) -> nn.Module:
    return GATES[kind](index, count, options)
