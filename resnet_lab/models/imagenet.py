"""The ImageNet networks of Table 1: 18/34 (basic blocks), 50/101/152 (bottlenecks); with
``cardinality`` and ``base_width`` torchvision's ResNeXt and wide ResNets (resnext50_32x4d,
wide_resnet50_2), with ``block="preact"`` the pre-activation nets of He et al. 2016."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BasicBlock, Bottleneck, init_weights, make_stage

# depth -> (block, blocks per stage conv2_x..conv5_x)
STAGES: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


class ImageNetResNet(nn.Module):
    """conv1 7x7/64 stride 2, 3x3 max pool stride 2, four stages (64, 128, 256, 512 planes),
    global average pooling, fully connected. Works on any input size >= 32 pixels.

    ``block="preact"``: the stem is the conv and the max pool (each unit normalizes its own
    input; in eval mode the same as BN-ReLU before the pool, which both commute with it) and a
    BN-ReLU follows the last unit. ``width`` is 1: ImageNet nets widen inside their bottlenecks
    (``base_width``), as torchvision's wide_resnet50_2 (base_width 128).
    """

    def __init__(
        self,
        depth: int = 18,
        residual: bool = True,
        shortcut: str = "B",
        stride_in: str = "1x1",
        num_classes: int = 1000,
        in_channels: int = 3,
        init_mode: str = "fan_out",
        block: str = "original",
        width: int = 1,
        dropout: float = 0.0,
        cardinality: int = 1,
        base_width: int = 64,
        shortcut_pad: str = "end",
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if width != 1:
            raise ValueError("ImageNet nets have width 1; widen their bottlenecks with base_width")
        unit, counts = STAGES[depth]
        self.depth, self.residual, self.shortcut = depth, residual, shortcut
        self.preact = block == "preact"
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        if not self.preact:
            self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        kw = dict(residual=residual, shortcut=shortcut, stride_in=stride_in, preact=self.preact,
                  dropout=dropout, shortcut_pad=shortcut_pad)
        if unit is Bottleneck:
            kw.update(cardinality=cardinality, base_width=base_width)
        planes = 64
        self.layer1, planes = make_stage(unit, planes, 64, counts[0], 1, **kw)
        self.layer2, planes = make_stage(unit, planes, 128, counts[1], 2, **kw)
        self.layer3, planes = make_stage(unit, planes, 256, counts[2], 2, **kw)
        self.layer4, planes = make_stage(unit, planes, 512, counts[3], 2, **kw)
        if self.preact:
            self.final_bn = nn.BatchNorm2d(planes)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(planes, num_classes)
        init_weights(self, init_mode, zero_init_residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if not self.preact:
            x = self.relu(self.bn1(x))
        x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        if self.preact:
            x = self.relu(self.final_bn(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))
