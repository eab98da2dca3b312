"""Initialisation strategies, applied to a net after it is built; each is one function of the net
and its options, named in ``STRATEGIES``.

- ``he``: He (Kaiming) normal for every conv, BN to the identity (scale 1, shift 0). The paper
  cites He et al. 2015 ("Delving deep") without naming fan-in or fan-out; torchvision uses
  fan_out and so do we by default (``model.init_mode``), grouped convs included (as torchvision's
  ResNeXt). The fc keeps PyTorch's default, as in the code the paper's nets are checked against.
- ``zero_last_bn`` (``model.zero_init_residual``; Goyal et al. 2017, torchvision's option of that
  name): the last BN of every residual branch starts at scale 0, so each residual unit starts as
  its shortcut. Residual units in the original order only (the checks refuse the others): a
  pre-activation branch ends in a conv, not a BN, and a plain net would start constant.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .units import UNITS, Unit


def he(net: nn.Module, mode: str = "fan_out") -> None:
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def zero_last_bn(net: nn.Module) -> None:
    for unit in net.modules():
        if isinstance(unit, tuple(UNITS.values())):
            if not isinstance(unit, Unit) or not unit.residual:
                raise ValueError("zero_last_bn needs residual units in the original order")
            nn.init.zeros_(unit.branch.last_bn.weight)


STRATEGIES: dict[str, Callable[..., None]] = {"he": he, "zero_last_bn": zero_last_bn}
