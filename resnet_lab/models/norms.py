"""What follows a convolution: batch normalisation (the paper: "BN right after each convolution"),
or nothing (``model.norm=none``), and Fixup's scalar parameters (Zhang, Dauphin & Ma 2019).

``NORMS`` names the choices of ``model.norm``; ``norm_layer`` builds one. Without normalisation a
BN's place holds a ``NoNorm``, which computes and learns nothing but keeps the net's layout (and
Figure 7 reads a layer's response there, as it would at the BN).
"""

from __future__ import annotations

import torch
from torch import nn


class NoNorm(nn.Identity):
    """The place of a BN in a net without normalisation."""


class Bias(nn.Module):
    """One learnable scalar added to a tensor (Fixup's biases), starting at 0."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


class Scale(nn.Module):
    """One learnable scalar a tensor is multiplied by (Fixup's multiplier), starting at 1."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


NORMS = {"bn": nn.BatchNorm2d, "none": lambda channels: NoNorm()}


def norm_layer(kind: str, channels: int) -> nn.Module:
    return NORMS[kind](channels)


# the layers a 3x3 conv's response is read at (Figure 7): the first of them after the conv
RESPONSE_LAYERS = (nn.BatchNorm2d, NoNorm, Bias)
