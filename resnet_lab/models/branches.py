"""A unit's residual branch, F(x) of ``x + F(x)``: basic (two 3x3 convolutions) or bottleneck
(1x1, 3x3, 1x1), each in the original order of He et al. 2015 (conv-BN-ReLU, ending in a BN) or
the pre-activation order of He et al. 2016 (BN-ReLU-conv, ending in a conv).

Names follow torchvision's ``models/resnet.py`` (``conv1``, ``bn1``, ...): ``bnK`` is the BN of
``convK``, after it in the original order, before it (normalising its input) in the
pre-activation order. Each branch registers its layers in the order they run
(``inspect.response_layers`` relies on it) and builds its convolutions in the same order as the
code before the parts did, so the same seed draws the same weights.

A bottleneck with ``cardinality`` C > 1 is ResNeXt's grouped unit (Xie et al. 2017): its 3x3 is a
grouped convolution of C groups. ``norm`` is what follows (or, pre-activated, precedes) each conv
(``norms.NORMS``: BN, or nothing). ``FixupBasic`` and ``FixupBottleneck`` are the original-order
branches of Fixup (Zhang, Dauphin & Ma 2019): no normalisation, a scalar bias before each conv and
each activation, a scalar multiplier at the end (``init.fixup`` sets their weights).
"""

from __future__ import annotations

import torch
from torch import nn

from .norms import Bias, Scale, norm_layer
from .shortcuts import conv1x1


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    # no bias: a BN follows or precedes every conv (the paper has BN after every conv)
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups, bias=False)


def _dropout(p: float) -> nn.Module:
    # Zagoruyko & Komodakis 2016: dropout before a unit's last conv
    return nn.Dropout(p) if p else nn.Identity()


def _bottleneck_width(planes: int, cardinality: int, base_width: int) -> int:
    # torchvision's: planes for a ResNet; 32 groups of 4 at ImageNet's first stage for ResNeXt-50
    return int(planes * base_width / 64) * cardinality


def _strides(stride: int, stride_in: str) -> tuple[int, int]:
    # the paper strides a down-sampling bottleneck's first 1x1; torchvision v1.5 and ResNeXt its 3x3
    return (stride, 1) if stride_in == "1x1" else (1, stride)


class Basic(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN (Fig. 2; Fig. 5 left)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 norm: str = "bn") -> None:
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = norm_layer(norm, planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(norm, planes)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.relu(self.bn1(self.conv1(x))))
        return self.bn2(self.conv2(out))


class Bottleneck(nn.Module):
    """conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN, the last expanding x4 (Fig. 5 right)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 cardinality: int = 1, base_width: int = 64, stride_in: str = "1x1",
                 norm: str = "bn") -> None:
        super().__init__()
        width, s1, s3 = _bottleneck_width(planes, cardinality, base_width), *_strides(stride, stride_in)
        self.conv1 = conv1x1(in_planes, width, s1)
        self.bn1 = norm_layer(norm, width)
        self.conv2 = conv3x3(width, width, s3, groups=cardinality)
        self.bn2 = norm_layer(norm, width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(norm, planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes * self.expansion

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.dropout(self.relu(self.bn2(self.conv2(out))))
        return self.bn3(self.conv3(out))


class PreactBasic(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 (He et al. 2016, Fig. 1b). The first BN-ReLU is
    ``preactivate``: the unit calls it, since a projection shortcut takes its output too."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 norm: str = "bn") -> None:
        super().__init__()
        self.bn1 = norm_layer(norm, in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = norm_layer(norm, planes)
        self.conv2 = conv3x3(planes, planes)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes

    def preactivate(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn1(x))

    def forward(self, pre: torch.Tensor) -> torch.Tensor:
        """The branch of an input already pre-activated (``preactivate``)."""
        out = self.dropout(self.relu(self.bn2(self.conv1(pre))))
        return self.conv2(out)


class PreactBottleneck(nn.Module):
    """BN-ReLU-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1 (He et al. 2016); ``preactivate`` as in
    ``PreactBasic``."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 cardinality: int = 1, base_width: int = 64, stride_in: str = "1x1",
                 norm: str = "bn") -> None:
        super().__init__()
        width, s1, s3 = _bottleneck_width(planes, cardinality, base_width), *_strides(stride, stride_in)
        self.bn1 = norm_layer(norm, in_planes)
        self.conv1 = conv1x1(in_planes, width, s1)
        self.bn2 = norm_layer(norm, width)
        self.conv2 = conv3x3(width, width, s3, groups=cardinality)
        self.bn3 = norm_layer(norm, width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes * self.expansion

    def preactivate(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn1(x))

    def forward(self, pre: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn2(self.conv1(pre)))
        out = self.dropout(self.relu(self.bn3(self.conv2(out))))
        return self.conv3(out)


class FixupBasic(nn.Module):
    """Fixup's basic branch: conv3x3(x + b1a), ReLU(+ b1b), conv3x3(+ b2a), x scale + b2b (their
    reference code's order; every scalar in its own ``Bias`` or ``Scale``)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 norm: str = "none") -> None:
        super().__init__()
        self.bias1a, self.conv1, self.bias1b = Bias(), conv3x3(in_planes, planes, stride), Bias()
        self.bias2a, self.conv2 = Bias(), conv3x3(planes, planes)
        self.scale, self.bias2b = Scale(), Bias()
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.relu(self.bias1b(self.conv1(self.bias1a(x)))))
        return self.bias2b(self.scale(self.conv2(self.bias2a(out))))


class FixupBottleneck(nn.Module):
    """Fixup's bottleneck branch: conv1x1(x + b1a), ReLU(+ b1b), conv3x3(+ b2a), ReLU(+ b2b),
    conv1x1(+ b3a), x scale + b3b."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dropout: float = 0.0,
                 cardinality: int = 1, base_width: int = 64, stride_in: str = "1x1",
                 norm: str = "none") -> None:
        super().__init__()
        width, s1, s3 = _bottleneck_width(planes, cardinality, base_width), *_strides(stride, stride_in)
        self.bias1a, self.conv1, self.bias1b = Bias(), conv1x1(in_planes, width, s1), Bias()
        self.bias2a, self.conv2 = Bias(), conv3x3(width, width, s3, groups=cardinality)
        self.bias2b = Bias()
        self.bias3a, self.conv3 = Bias(), conv1x1(width, planes * self.expansion)
        self.scale, self.bias3b = Scale(), Bias()
        self.relu = nn.ReLU(inplace=True)
        self.dropout = _dropout(dropout)
        self.out_channels = planes * self.expansion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bias1b(self.conv1(self.bias1a(x))))
        out = self.dropout(self.relu(self.bias2b(self.conv2(self.bias2a(out)))))
        return self.bias3b(self.scale(self.conv3(self.bias3a(out))))


# (model.block, bottleneck units) -> the branch; Fixup's (model.init=fixup) by bottleneck units
FIXUP_BRANCHES: dict[bool, type[nn.Module]] = {False: FixupBasic, True: FixupBottleneck}
BRANCHES: dict[tuple[str, bool], type[nn.Module]] = {
    ("original", False): Basic, ("original", True): Bottleneck,
    ("preact", False): PreactBasic, ("preact", True): PreactBottleneck,
}
