"""Residual blocks and shortcuts shared by the CIFAR and ImageNet networks.

Names follow torchvision's ``models/resnet.py`` (conv1, bn1, ..., downsample) so that an
ImageNet net with option-B shortcuts exchanges state dicts with torchvision unchanged.

A *plain* block is the same block with ``residual=False``: identical layers and, for option A,
identical parameters; only the addition of the shortcut is gone (He et al. 2015, Sec. 4.1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SHORTCUTS = ("A", "B", "C")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    # Biases are redundant before BN (the paper has BN after every conv).
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A where the shape changes: identity with stride-2 subsampling and zero-padded
    extra channels. Parameter-free, so plain and residual nets keep equal parameter counts.

    The paper does not say where the zero channels go; we append them after the input
    channels (the padding is all zeros either way, so the choice changes nothing learnt).
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_planes - self.in_planes
        return F.pad(x, (0, 0, 0, 0, 0, extra)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_planes}->{self.out_planes}, stride={self.stride}"


def make_shortcut(
    shortcut: str, residual: bool, in_planes: int, out_planes: int, stride: int
) -> nn.Module | None:
    """The shortcut path of one block, or None for identity / plain blocks.

    A: identity; zero-pad + subsample where the shape changes (no parameters).
    B: identity; 1x1 projection + BN where the shape changes.
    C: 1x1 projection + BN on every shortcut.
    """
    if not residual:
        return None
    changes_shape = stride != 1 or in_planes != out_planes
    if shortcut == "C" or (shortcut == "B" and changes_shape):
        return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))
    if shortcut == "A" and changes_shape:
        return ZeroPadShortcut(in_planes, out_planes, stride)
    return None


class Block(nn.Module):
    """What basic and bottleneck blocks share: the shortcut is added (residual nets only)
    before the block's last ReLU."""

    residual: bool
    downsample: nn.Module | None

    def merge(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class BasicBlock(Block):
    """Two 3x3 convs (Fig. 2 / Fig. 5 left). The addition comes before the last ReLU."""

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        residual: bool = True,
        shortcut: str = "A",
        stride_in: str = "1x1",  # unused: only bottlenecks have a choice of strided layer
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, residual, in_planes, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.merge(self.bn2(self.conv2(out)), x)


class Bottleneck(Block):
    """1x1 (reduce), 3x3, 1x1 (expand x4) (Fig. 5 right).

    ``stride_in`` picks the strided layer of a down-sampling block: the paper strides the
    first 1x1 ("1x1"); torchvision's "v1.5" strides the 3x3 ("3x3").
    """

    expansion = 4

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        residual: bool = True,
        shortcut: str = "B",
        stride_in: str = "1x1",
    ) -> None:
        super().__init__()
        self.residual = residual
        out_planes = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in == "1x1" else (1, stride)
        self.conv1 = conv1x1(in_planes, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, out_planes)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, residual, in_planes, out_planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.merge(self.bn3(self.conv3(out)), x)


def make_stage(
    block: type[BasicBlock] | type[Bottleneck],
    in_planes: int,
    planes: int,
    blocks: int,
    stride: int,
    **block_kwargs,
) -> tuple[nn.Sequential, int]:
    """One stage: the first block may down-sample, the rest keep the shape."""
    layers = [block(in_planes, planes, stride, **block_kwargs)]
    out_planes = planes * block.expansion
    layers += [block(out_planes, planes, 1, **block_kwargs) for _ in range(blocks - 1)]
    return nn.Sequential(*layers), out_planes


def init_weights(model: nn.Module, mode: str = "fan_out") -> None:
    """He (Kaiming) normal for convs, BN to identity. The paper cites He et al. 2015
    ("Delving deep") without naming fan-in or fan-out; torchvision uses fan_out and so do we
    by default (``model.init_mode``)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
