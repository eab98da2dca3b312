"""A ResNet is ``stem -> stages of units -> head``, the same for the CIFAR and ImageNet families
(``families`` says which stem, which stages); ``assemble`` builds one from its plan.

Parameter names are the parts' (``stem.conv``, ``layer1.0.branch.conv1``,
``layer1.0.shortcut.0``, ``head.fc``). State dicts in torchvision's names (``conv1``,
``layer1.0.conv1``, ``layer1.0.downsample.0``, ``fc``), which are also the names of the code
before the parts (plus its ``final_bn``), load into a net as they are: ``legacy_keys`` translates
them on the way in, ``torchvision_state_dict`` on the way out.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .branches import BRANCHES, FIXUP_BRANCHES
from .ends import Head, Stem
from .gates import make_gate
from .norms import Bias, norm_layer
from .shortcuts import make_shortcut
from .units import UNITS

# (ours, torchvision's and the older code's) for the names a net's parts give their children
_OURS_TO_FLAT = ((r"^stem\.conv\.", "conv1."), (r"^stem\.bn\.", "bn1."), (r"^head\.bn\.", "final_bn."),
                 (r"^head\.fc\.", "fc."), (r"\.branch\.", "."), (r"\.shortcut\.", ".downsample."))
_FLAT_TO_OURS = ((r"^conv1\.", "stem.conv."), (r"^bn1\.", "stem.bn."), (r"^final_bn\.", "head.bn."),
                 (r"^fc\.", "head.fc."), (r"^(layer\d+\.\d+)\.downsample\.", r"\1.shortcut."),
                 (r"^(layer\d+\.\d+)\.(?!branch\.|shortcut\.|gate\.)", r"\1.branch."))


def _rename(key: str, rules) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def flat_key(key: str) -> str:
    """Our parameter name as torchvision (and the code before the parts) names it."""
    return _rename(key, _OURS_TO_FLAT)


def parts_key(key: str) -> str:
    """A torchvision (or older) parameter name as our parts name it; ours pass unchanged."""
    return key if key.startswith(("stem.", "head.")) or ".branch." in key else _rename(key, _FLAT_TO_OURS)


class ResNet(nn.Sequential):
    """``stem``, ``layer1`` .. ``layerN`` (stages of units), ``head``."""

    def __init__(self, stem: Stem, stages: Sequence[nn.Sequential], head: Head) -> None:
        super().__init__(OrderedDict([("stem", stem),
                                      *((f"layer{i}", s) for i, s in enumerate(stages, start=1)),
                                      ("head", head)]))
        self._register_load_state_dict_pre_hook(self._legacy_keys)

    def units(self) -> list[nn.Module]:
        """Every unit, in forward order."""
        return [u for name, stage in self.named_children() if name.startswith("layer") for u in stage]

    def _legacy_keys(self, state_dict, prefix, *args) -> None:
        """Translate torchvision's and the older code's names (those below ``prefix``) to ours."""
        ours = {prefix + k for k in self.state_dict()}
        for key in [k for k in state_dict if k.startswith(prefix) and k not in ours]:
            new = prefix + parts_key(key[len(prefix):])
            if new in ours and new not in state_dict:
                state_dict[new] = state_dict.pop(key)

    def torchvision_state_dict(self) -> dict[str, torch.Tensor]:
        """The state dict in torchvision's names (``torchvision.models.resnet50().load_state_dict``
        takes it for the ImageNet nets with option B)."""
        return {flat_key(k): v for k, v in self.state_dict().items()}


def assemble(make_stem: Callable[..., Stem], stages: Sequence[tuple[int, int, int]],
             bottleneck: bool, shortcut: str, num_classes: int, options) -> ResNet:
    """The net of a stem (``make_stem(norm)``, ``norm``: what follows its conv, None for nothing),
    ``stages`` ((planes, units, stride) each; the first unit of a stage strides) and a head of
    ``num_classes``, its units as ``options`` (families.UnitOptions) say, built in forward order
    so a seed draws the same weights whatever the family."""
    fixup, preact = options.init == "fixup", options.block == "preact"
    branch_kind = FIXUP_BRANCHES[bottleneck] if fixup else BRANCHES[(options.block, bottleneck)]
    unit_kind = UNITS[options.block]
    grouping = (dict(cardinality=options.cardinality, base_width=options.base_width,
                     stride_in=options.stride_in) if bottleneck else {})

    def norm(channels: int) -> nn.Module:  # the layer in a BN's place
        return norm_layer(options.norm, channels)

    stem = make_stem(None if preact else (lambda _: Bias()) if fixup else norm)
    in_planes, layers, index, total = stem.out_channels, [], 0, sum(c for _, c, _ in stages)
    for planes, count, stride in stages:
        units = []
        for i in range(count):
            s, index = stride if i == 0 else 1, index + 1
            branch = branch_kind(in_planes, planes, s, options.dropout, norm=options.norm, **grouping)
            path = make_shortcut(shortcut, options.residual, in_planes, branch.out_channels, s,
                                 options.shortcut_pad, projection_norm=None if preact else norm)
            gate = make_gate(options.gate, index, total, options)
            units.append(unit_kind(branch, path, gate, **(dict(starts_stage=i == 0) if preact else {})))
            in_planes = branch.out_channels
        layers.append(nn.Sequential(*units))
    head = Head(in_planes, num_classes, norm(in_planes) if preact else None, Bias() if fixup else None)
    return ResNet(stem, layers, head)

