"""The CIFAR-10 networks of Sec. 4.2 (depth 6n+2, three stages of 2n 3x3 layers) and their
follow-ups in the same code: bottleneck units (depth 9n+2, He et al. 2016), pre-activation
units, wide stages (WRN, Zagoruyko & Komodakis 2016) and grouped 3x3s (ResNeXt, Xie et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BasicBlock, Bottleneck, init_weights, make_stage

STAGE_WIDTHS = (16, 32, 64)  # filters on maps of 32, 16, 8 (x model.width; x4 out of a bottleneck)


class CifarResNet(nn.Module):
    """Stem 3x3/16, stages of n units (16, 32, 64 filters; down-sampling by stride-2 convs),
    global average pooling, fully connected. ``residual=False`` gives the plain net.

    ``block="preact"``: the stem is the conv alone and a BN-ReLU follows the last unit.
    ``bottleneck``: n = (depth - 2) / 9 bottleneck units per stage (ResNet-164: 16, 32, 64 planes,
    64, 128, 256 out); their stem has the first stage's planes (ResNeXt-29: 64). ``width`` k
    multiplies the stages' planes (WRN-d-k keeps the 3x3/16 stem).
    """

    def __init__(
        self,
        depth: int = 20,
        residual: bool = True,
        shortcut: str = "A",
        num_classes: int = 10,
        in_channels: int = 3,
        init_mode: str = "fan_out",
        block: str = "original",
        bottleneck: bool = False,
        width: int = 1,
        dropout: float = 0.0,
        cardinality: int = 1,
        base_width: int = 64,
        stride_in: str = "1x1",
        shortcut_pad: str = "end",
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        unit = Bottleneck if bottleneck else BasicBlock
        n = (depth - 2) // (9 if bottleneck else 6)
        self.depth, self.residual, self.shortcut = depth, residual, shortcut
        self.preact = block == "preact"
        stem = STAGE_WIDTHS[0] * width if bottleneck else STAGE_WIDTHS[0]
        self.conv1 = nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)
        if not self.preact:  # pre-activation: each unit normalizes its own input
            self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        kw = dict(residual=residual, shortcut=shortcut, preact=self.preact, dropout=dropout,
                  shortcut_pad=shortcut_pad)
        if bottleneck:
            kw.update(cardinality=cardinality, base_width=base_width, stride_in=stride_in)
        planes = stem
        self.layer1, planes = make_stage(unit, planes, STAGE_WIDTHS[0] * width, n, 1, **kw)
        self.layer2, planes = make_stage(unit, planes, STAGE_WIDTHS[1] * width, n, 2, **kw)
        self.layer3, planes = make_stage(unit, planes, STAGE_WIDTHS[2] * width, n, 2, **kw)
        if self.preact:  # the last unit's sum, normalized before the pooling
            self.final_bn = nn.BatchNorm2d(planes)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        init_weights(self, init_mode, zero_init_residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if not self.preact:
            x = self.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.preact:
            x = self.relu(self.final_bn(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))
