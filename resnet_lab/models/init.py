"""Initialisation strategies, applied to a net after it is built; each is one function of the net,
``INITS`` names those ``model.init`` chooses, ``zero_last_bn`` is ``model.zero_init_residual``.

- ``he``: He (Kaiming) normal for every conv, BN to the identity (scale 1, shift 0). The paper
  cites He et al. 2015 ("Delving deep") without naming fan-in or fan-out; torchvision uses
  fan_out and so do we by default (``model.init_mode``), grouped convs included (as torchvision's
  ResNeXt). The fc keeps PyTorch's default, as in the code the paper's nets are checked against.
- ``fixup`` (Zhang, Dauphin & Ma 2019), for nets without normalisation built with Fixup's
  branches: He init as above, then the classification layer and the last layer of each residual
  branch at 0, the branches' other layers rescaled by L^(-1/(2m-2)) (L residual branches of m
  layers each); the scalar biases start at 0 and the multipliers at 1 (``norms.Bias``,
  ``norms.Scale``).
- ``zero_last_bn`` (Goyal et al. 2017, torchvision's zero_init_residual): the last BN of every
  residual branch starts at scale 0, so each residual unit starts as its shortcut. Residual units
  in the original order with BN only (the checks refuse the others).
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


def units_of(net: nn.Module) -> list[nn.Module]:
    return [u for u in net.modules() if isinstance(u, tuple(UNITS.values()))]


def fixup_factor(branches: int, layers: int) -> float:
    """Fixup's rescaling of a branch's layers but its last: L^(-1/(2m-2))."""
    return branches ** (-1.0 / (2 * layers - 2))


def fixup(net: nn.Module, mode: str = "fan_out") -> None:
    he(net, mode)
    units = [u for u in units_of(net) if u.residual]
    for unit in units:
        convs = [m for m in unit.branch.modules() if isinstance(m, nn.Conv2d)]
        factor = fixup_factor(len(units), len(convs))
        for conv in convs[:-1]:
            conv.weight.data.mul_(factor)
        nn.init.zeros_(convs[-1].weight)
    for m in net.modules():
        if isinstance(m, nn.Linear):  # the classification layer
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)


def zero_last_bn(net: nn.Module) -> None:
    for unit in units_of(net):
        if not isinstance(unit, Unit) or not unit.residual:
            raise ValueError("zero_last_bn needs residual units in the original order")
        nn.init.zeros_(unit.branch.last_bn.weight)


INITS: dict[str, Callable[..., None]] = {"he": he, "fixup": fixup}
