"""A unit's shortcut: the path that carries its input past the branch (He et al. 2015, Sec. 3.3).

Options A, B and C differ only where the shape changes (and C everywhere): identity elsewhere,
and no shortcut at all in a plain net (``make_shortcut`` returns None).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class ZeroPad(nn.Module):
    """Option A where the shape changes: identity with stride-2 subsampling and zero-padded extra
    channels. Parameter-free, so plain and residual nets keep equal parameter counts.

    The paper does not say where the zero channels go (``model.shortcut_pad``): ``end`` appends
    them after the input channels; ``both`` puts half before and half after (the odd one after),
    as many CIFAR re-implementations do. The zeros are the same either way; the choice only
    changes which output channels of the branch the identity is added to.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int, pad: str = "end") -> None:
        super().__init__()
        self.in_planes, self.out_planes, self.stride, self.pad = in_planes, out_planes, stride, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_planes - self.in_planes
        before = extra // 2 if self.pad == "both" else 0
        return F.pad(x, (0, 0, 0, 0, before, extra - before)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_planes}->{self.out_planes}, stride={self.stride}, pad={self.pad}"


class Projection(nn.Sequential):
    """Options B (where the shape changes) and C (everywhere): a 1x1 convolution, with the layer
    in a BN's place (``norm``, None for none) in original units; a pre-activation unit projects
    its already normalised input, so the conv stands alone (He et al. 2016)."""

    def __init__(self, in_planes: int, out_planes: int, stride: int, norm: nn.Module | None) -> None:
        super().__init__(conv1x1(in_planes, out_planes, stride), *([norm] if norm is not None else []))


def make_shortcut(option: str, residual: bool, in_planes: int, out_planes: int, stride: int,
                  pad: str = "end", projection_norm=nn.BatchNorm2d) -> nn.Module | None:
    """The shortcut of one unit: None for a plain unit (no addition), else identity, ``ZeroPad``
    or ``Projection`` by the option; ``projection_norm(channels)`` makes a projection's layer in
    a BN's place (None: none). B and C have no zero channels and ignore ``pad`` (no error: a
    sweep may cross it with every shortcut)."""
    if not residual:
        return None
    changes_shape = stride != 1 or in_planes != out_planes
    if option == "C" or (option == "B" and changes_shape):
        norm = projection_norm(out_planes) if projection_norm else None
        return Projection(in_planes, out_planes, stride, norm)
    if option == "A" and changes_shape:
        return ZeroPad(in_planes, out_planes, stride, pad)
    return nn.Identity()
