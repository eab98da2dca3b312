"""Residual units: ``out = shortcut(x) + gate(branch(x))`` (``branches``, ``shortcuts``, ``gates``).

A plain unit is the same unit without a shortcut (``shortcut=None``): the same layers and, with
option A, the same parameters; only the addition is gone (He et al. 2015, Sec. 4.1).
"""

from __future__ import annotations

import torch
from torch import nn

from .shortcuts import Projection


class Unit(nn.Module):
    """The original unit (He et al. 2015, Fig. 2): the ReLU comes after the addition."""

    def __init__(self, branch: nn.Module, shortcut: nn.Module | None, gate: nn.Module) -> None:
        super().__init__()
        self.branch, self.shortcut, self.gate = branch, shortcut, gate
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = branch.out_channels

    @property
    def residual(self) -> bool:
        return self.shortcut is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.gate.computes():  # the gate dropped the branch: the unit is its shortcut
            return torch.relu(self.shortcut(x))  # not in place: x may be the input autograd keeps
        y = self.gate(self.branch(x))
        return self.relu(y if self.shortcut is None else y + self.shortcut(x))


class PreactUnit(nn.Module):
    """The pre-activation unit (He et al. 2016): nothing after the addition, so the shortcuts
    form a clean identity path. Within a stage the identity carries the raw input. The unit that
    starts a stage (``starts_stage``) splits after its pre-activation: its shortcut, whatever its
    kind, takes the pre-activated input, as fb.resnet.torch's preresnet ("both_preact") and, for
    the first unit after conv1, He et al. 2016's appendix; a projection anywhere takes it too (He
    et al. 2016, Zagoruyko & Komodakis 2016)."""

    def __init__(self, branch: nn.Module, shortcut: nn.Module | None, gate: nn.Module,
                 starts_stage: bool = False) -> None:
        super().__init__()
        self.branch, self.shortcut, self.gate = branch, shortcut, gate
        self.starts_stage = starts_stage
        self.out_channels = branch.out_channels

    @property
    def residual(self) -> bool:
        return self.shortcut is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        projects = self.starts_stage or isinstance(self.shortcut, Projection)
        if not self.gate.computes():
            return self.shortcut(self.branch.preactivate(x) if projects else x)
        pre = self.branch.preactivate(x)
        y = self.gate(self.branch(pre))
        if self.shortcut is None:
            return y
        return y + self.shortcut(pre if projects else x)


UNITS: dict[str, type[nn.Module]] = {"original": Unit, "preact": PreactUnit}
