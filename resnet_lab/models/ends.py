"""The two ends of a net: the stem before the stages and the head after them.

With original units (He et al. 2015) the stem normalises and activates its conv's output; with
pre-activation units (He et al. 2016) each unit normalises its own input, so the stem is the conv
alone (and ImageNet's max pool), and the head normalises and activates the last unit's sum before
the pooling.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


class Stem(nn.Sequential):
    """conv [BN ReLU] [max pool]; ``out_channels`` is its conv's."""

    def __init__(self, conv: nn.Conv2d, preact: bool, maxpool: nn.Module | None = None) -> None:
        layers = OrderedDict(conv=conv)
        if not preact:
            layers.update(bn=nn.BatchNorm2d(conv.out_channels), relu=nn.ReLU(inplace=True))
        if maxpool is not None:
            layers.update(maxpool=maxpool)
        super().__init__(layers)
        self.out_channels = conv.out_channels


def cifar_stem(in_channels: int, width: int, preact: bool) -> Stem:
    """Sec. 4.2: a 3x3 conv of 16 filters (a bottleneck net's: its first stage's planes)."""
    return Stem(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), preact)


def imagenet_stem(in_channels: int, preact: bool) -> Stem:
    """Table 1: 7x7/64 stride 2, then a 3x3 max pool of stride 2. In a pre-activation net the
    max pool comes straight after the conv; in eval mode the same as BN-ReLU before the pool,
    which both commute with it."""
    conv = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return Stem(conv, preact, nn.MaxPool2d(3, stride=2, padding=1))


class Head(nn.Sequential):
    """[BN ReLU] global average pooling, fully connected."""

    def __init__(self, in_planes: int, num_classes: int, preact: bool) -> None:
        layers = OrderedDict()
        if preact:  # the last unit's sum, normalised before the pooling
            layers.update(bn=nn.BatchNorm2d(in_planes), relu=nn.ReLU(inplace=True))
        layers.update(avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1),
                      fc=nn.Linear(in_planes, num_classes))
        super().__init__(layers)
