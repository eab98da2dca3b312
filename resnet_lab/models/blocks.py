"""Residual units and shortcuts shared by the CIFAR and ImageNet networks.

Names follow torchvision's ``models/resnet.py`` (conv1, bn1, ..., downsample) so that an
ImageNet net with option-B shortcuts exchanges state dicts with torchvision unchanged.

A *plain* block is the same block with ``residual=False``: identical layers and, for option A,
identical parameters; only the addition of the shortcut is gone (He et al. 2015, Sec. 4.1).

Every unit comes in two orders (``preact``):
- original (He et al. 2015): conv-BN-ReLU ... conv-BN, the shortcut added before the last ReLU;
- pre-activation (He et al. 2016, "Identity Mappings"): BN-ReLU-conv ... BN-ReLU-conv, the
  shortcut added last with nothing after it, so the identity path is clean. ``bnK`` is then the
  BN *before* ``convK`` (it normalizes the conv's input).
Each unit's BNs and convs are registered in the order they run (``response_layers`` relies on it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SHORTCUTS = ("A", "B", "C")
BLOCKS = ("original", "preact")
SHORTCUT_PADS = ("end", "both")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    # Biases are redundant before BN (the paper has BN after every conv).
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A where the shape changes: identity with stride-2 subsampling and zero-padded
    extra channels. Parameter-free, so plain and residual nets keep equal parameter counts.

    The paper does not say where the zero channels go (``model.shortcut_pad``): ``end`` appends
    them after the input channels; ``both`` puts half before and half after (the odd one
    after), as many CIFAR re-implementations do. The zeros are the same either way; the choice
    only changes which output channels of the residual branch the identity is added to.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int, pad: str = "end") -> None:
        super().__init__()
        if pad not in SHORTCUT_PADS:
            raise ValueError(f"pad must be one of {SHORTCUT_PADS}, not {pad!r}")
        self.in_planes, self.out_planes, self.stride, self.pad = in_planes, out_planes, stride, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_planes - self.in_planes
        before = extra // 2 if self.pad == "both" else 0
        return F.pad(x, (0, 0, 0, 0, before, extra - before)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_planes}->{self.out_planes}, stride={self.stride}, pad={self.pad}"


def make_shortcut(
    shortcut: str, residual: bool, in_planes: int, out_planes: int, stride: int,
    preact: bool = False, shortcut_pad: str = "end",
) -> nn.Module | None:
    """The shortcut path of one block, or None for identity / plain blocks.

    A: identity; zero-pad + subsample where the shape changes (no parameters); ``shortcut_pad``
       places the zero channels (``ZeroPadShortcut``).
    B: identity; 1x1 projection + BN where the shape changes.
    C: 1x1 projection + BN on every shortcut.
    B and C have no zero channels and ignore ``shortcut_pad`` (no error: a sweep may cross it
    with every shortcut).
    A pre-activation unit's projection is the 1x1 conv alone: its input is already normalized.
    """
    if not residual:
        return None
    changes_shape = stride != 1 or in_planes != out_planes
    if shortcut == "C" or (shortcut == "B" and changes_shape):
        projection = [conv1x1(in_planes, out_planes, stride)]
        return nn.Sequential(*projection, *([] if preact else [nn.BatchNorm2d(out_planes)]))
    if shortcut == "A" and changes_shape:
        return ZeroPadShortcut(in_planes, out_planes, stride, shortcut_pad)
    return None


class Block(nn.Module):
    """What basic and bottleneck units share: each conv with its BN, the order, the optional
    dropout before the last conv (Zagoruyko & Komodakis 2016), and the shortcut."""

    residual: bool
    preact: bool
    downsample: nn.Module | None

    def setup(self, residual: bool, preact: bool) -> None:
        self.residual, self.preact = residual, preact

    def add_conv(self, k: int, conv: nn.Conv2d) -> None:
        """``convK`` and its ``bnK``, registered in the order they run."""
        bn = nn.BatchNorm2d(conv.in_channels if self.preact else conv.out_channels)
        pair = [(f"conv{k}", conv), (f"bn{k}", bn)]
        for name, module in reversed(pair) if self.preact else pair:
            self.add_module(name, module)

    def finish(self, dropout: float, shortcut: nn.Module | None) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout else None
        self.downsample = shortcut

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        """The BN of the last conv: in the original order the branch's last layer."""
        return getattr(self, "bn3" if isinstance(self, Bottleneck) else "bn2")

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.dropout is None else self.dropout(x)

    def merge(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Original order: the shortcut (residual nets only) is added before the last ReLU."""
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)

    def add(self, out: torch.Tensor, x: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """Pre-activation: the shortcut is added last. Identity and option A carry the raw input
        (the clean path); a projection takes the pre-activated one ``pre``, as in He et al. 2016
        and Zagoruyko & Komodakis 2016 where the shape changes."""
        if not self.residual:
            return out
        if self.downsample is None:
            return out + x
        return out + self.downsample(x if isinstance(self.downsample, ZeroPadShortcut) else pre)


class BasicBlock(Block):
    """Two 3x3 convs (Fig. 2 / Fig. 5 left); a WRN unit with ``dropout``."""

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        residual: bool = True,
        shortcut: str = "A",
        stride_in: str = "1x1",  # unused: only bottlenecks have a choice of strided layer
        preact: bool = False,
        dropout: float = 0.0,
        shortcut_pad: str = "end",
    ) -> None:
        super().__init__()
        self.setup(residual, preact)
        self.add_conv(1, conv3x3(in_planes, planes, stride))
        self.add_conv(2, conv3x3(planes, planes))
        self.finish(dropout, make_shortcut(shortcut, residual, in_planes, planes, stride, preact,
                                           shortcut_pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            pre = self.relu(self.bn1(x))
            out = self.drop(self.relu(self.bn2(self.conv1(pre))))
            return self.add(self.conv2(out), x, pre)
        out = self.drop(self.relu(self.bn1(self.conv1(x))))
        return self.merge(self.bn2(self.conv2(out)), x)


class Bottleneck(Block):
    """1x1 (reduce), 3x3, 1x1 (expand x4) (Fig. 5 right); ResNeXt's (Xie et al. 2017) with
    ``cardinality`` > 1: the 3x3 is a grouped conv of ``cardinality`` groups.

    The inner width is torchvision's: ``int(planes * base_width / 64) * cardinality`` (planes
    for a ResNet; 32 groups of 4 at ImageNet's first stage for ResNeXt-50 32x4d).
    ``stride_in`` picks the strided layer of a down-sampling block: the paper strides the
    first 1x1 ("1x1"); torchvision's "v1.5" and ResNeXt stride the 3x3 ("3x3").
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
        preact: bool = False,
        dropout: float = 0.0,
        cardinality: int = 1,
        base_width: int = 64,
        shortcut_pad: str = "end",
    ) -> None:
        super().__init__()
        self.setup(residual, preact)
        width = int(planes * base_width / 64) * cardinality
        out_planes = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in == "1x1" else (1, stride)
        self.add_conv(1, conv1x1(in_planes, width, s1))
        self.add_conv(2, conv3x3(width, width, s3, groups=cardinality))
        self.add_conv(3, conv1x1(width, out_planes))
        self.finish(dropout, make_shortcut(shortcut, residual, in_planes, out_planes, stride, preact,
                                           shortcut_pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            pre = self.relu(self.bn1(x))
            out = self.relu(self.bn2(self.conv1(pre)))
            out = self.drop(self.relu(self.bn3(self.conv2(out))))
            return self.add(self.conv3(out), x, pre)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.drop(self.relu(self.bn2(self.conv2(out))))
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


def init_weights(model: nn.Module, mode: str = "fan_out", zero_init_residual: bool = False) -> None:
    """He (Kaiming) normal for convs, BN to identity. The paper cites He et al. 2015
    ("Delving deep") without naming fan-in or fan-out; torchvision uses fan_out and so do we
    by default (``model.init_mode``), grouped convs included (as torchvision's ResNeXt).

    ``zero_init_residual`` (``model.zero_init_residual``; Goyal et al. 2017, torchvision's
    option of that name): the last BN of every residual branch starts at scale 0, so each
    residual unit starts as the identity (then the ReLU). Residual original-order units only
    (validation refuses the others): a pre-activation unit's branch ends in a conv, not a BN,
    and a plain net would start with a constant output.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Block):
                if m.preact or not m.residual:
                    raise ValueError("zero_init_residual needs residual units in the original order")
                nn.init.zeros_(m.last_bn.weight)
