"""The CIFAR-10 networks of Sec. 4.2: depth 6n+2, three stages of 2n 3x3 layers."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BasicBlock, init_weights, make_stage

STAGE_WIDTHS = (16, 32, 64)  # filters on maps of 32, 16, 8


class CifarResNet(nn.Module):
    """Stem 3x3/16, stages of n basic blocks (16, 32, 64 filters; down-sampling by stride-2
    convs), global average pooling, fully connected. ``residual=False`` gives the plain net."""

    def __init__(
        self,
        depth: int = 20,
        residual: bool = True,
        shortcut: str = "A",
        num_classes: int = 10,
        in_channels: int = 3,
        init_mode: str = "fan_out",
    ) -> None:
        super().__init__()
        n = (depth - 2) // 6
        self.depth, self.residual, self.shortcut = depth, residual, shortcut
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        planes = 16
        kw = dict(residual=residual, shortcut=shortcut)
        self.layer1, planes = make_stage(BasicBlock, planes, STAGE_WIDTHS[0], n, 1, **kw)
        self.layer2, planes = make_stage(BasicBlock, planes, STAGE_WIDTHS[1], n, 2, **kw)
        self.layer3, planes = make_stage(BasicBlock, planes, STAGE_WIDTHS[2], n, 2, **kw)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        init_weights(self, init_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))
