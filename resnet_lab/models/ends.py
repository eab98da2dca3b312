"""The two ends of a net: the stem before the stages and the head after them.

With original units (He et al. 2015) the stem normalises and activates its conv's output; with
pre-activation units (He et al. 2016) each unit normalises its own input, so the stem is the conv
alone (and ImageNet's max pool), and the head normalises and activates the last unit's sum before
the pooling. ``norm`` is the layer in a BN's place (``norms``: a BN, ``NoNorm``, Fixup's ``Bias``)
or None where there is none; Fixup adds a scalar bias before the fc (``fc_bias``).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


class Stem(nn.Sequential):
    """conv [norm ReLU] [max pool]; ``out_channels`` is its conv's."""

    def __init__(self, conv: nn.Conv2d, norm: nn.Module | None, maxpool: nn.Module | None = None) -> None:
        layers = OrderedDict(conv=conv)
        if norm is not None:
            layers.update(bn=norm, relu=nn.ReLU(inplace=True))
        if maxpool is not None:
            layers.update(maxpool=maxpool)
        super().__init__(layers)
        self.out_channels = conv.out_channels


def cifar_stem(in_channels: int, width: int, norm) -> Stem:
    """Sec. 4.2: a 3x3 conv of 16 filters (a bottleneck net's: its first stage's planes).
    ``norm(channels)`` makes the layer after it (None: the conv alone)."""
    conv = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
    return Stem(conv, norm and norm(width))


def imagenet_stem(in_channels: int, norm) -> Stem:
    """Table 1: 7x7/64 stride 2, then a 3x3 max pool of stride 2. In a pre-activation net the
    max pool comes straight after the conv; in eval mode the same as BN-ReLU before the pool,
    which both commute with it."""
    conv = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return Stem(conv, norm and norm(64), nn.MaxPool2d(3, stride=2, padding=1))


class Head(nn.Sequential):
    """[norm ReLU] global average pooling, [bias] fully connected."""

    def __init__(self, in_planes: int, num_classes: int, norm: nn.Module | None = None,
                 fc_bias: nn.Module | None = None) -> None:
        layers = OrderedDict()
        if norm is not None:  # the last unit's sum, normalised before the pooling
            layers.update(bn=norm, relu=nn.ReLU(inplace=True))
        layers.update(avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1))
        if fc_bias is not None:
            layers.update(bias=fc_bias)
        layers.update(fc=nn.Linear(in_planes, num_classes))
        super().__init__(layers)
