"""``build_model(cfg)``: the one way the rest of resnet_lab makes a network; ``label``: its name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .cifar import CifarResNet
from .imagenet import ImageNetResNet

# The model fields beyond the 2015 paper's (family, depth, residual, shortcut), with the values
# that leave a net as the paper has it; records written before they existed read as these.
ARCH_DEFAULTS: dict[str, Any] = dict(block="original", bottleneck=False, width=1, cardinality=1,
                                     base_width=64, dropout=0.0)


def validate_model_cfg(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Check a model config and return it as plain keyword values, defaults filled in.

    Raises ``ConfigError`` naming the option and its valid values. The keys, types and defaults
    are ``resnet_lab.config.schema``'s, the rules ``resnet_lab.config.checks``'.
    """
    from ..config import model_kwargs  # not at the top: the config package imports the models

    return model_kwargs(cfg)


def build_model(cfg: Mapping[str, Any]) -> nn.Module:
    """Build the network a model config describes (see ``conf/model/*.yaml``)."""
    kw = validate_model_cfg(cfg)
    family = kw.pop("family")
    return CifarResNet(**kw) if family == "cifar" else ImageNetResNet(**kw)


def cifar_bottleneck_by_name(depth: int) -> bool:
    """Whether a CIFAR net named by its depth alone (``ResNet-164``) has bottleneck units: from
    164 layers when the depth is 9n+2, as He et al. 2016 name theirs (ResNet-110 and -1202 are
    basic, ResNet-164 and -1001 bottleneck)."""
    return depth >= 164 and (depth - 2) % 9 == 0


def label(family: str, depth: int, residual: bool, shortcut: str, block: str = "original",
          bottleneck: bool = False, width: int = 1, cardinality: int = 1, base_width: int = 64,
          dropout: float = 0.0) -> str:
    """The papers' legend names: ``plain-56``, ``ResNet-110``, ``ResNet-34-C`` (He et al. 2015),
    ``preact-ResNet-164`` (2016), ``WRN-28-10`` (Zagoruyko & Komodakis: its depth counts the
    three 1x1 projections, so it is model.depth + 2), ``ResNeXt-29-8x64d`` (Xie et al.).

    What a name implies is left out: the shortcut unless it is the net's default (A on CIFAR's
    basic ResNets, B elsewhere), the block unless it differs from the paper's (WRNs are
    pre-activation), CIFAR's unit (``-basic``, ``-bottleneck``) and width (``-w4``) unless they
    differ from what the name means. Plain twins: ``plain-110``, ``preact-plain-110``,
    ``plain-WRN-28-10``. Dropout is named with its rate: ``WRN-28-10-dropout0.3``.
    """
    cifar = family == "cifar"
    bottleneck = bool(bottleneck) if cifar else False  # ImageNet's follows from the depth
    grouped = cardinality > 1 or base_width != 64
    wide = cifar and width > 1 and not bottleneck and not grouped
    if grouped:
        kind, usual_block, usual_width = f"ResNeXt-{depth}-{cardinality}x{base_width}d", "original", 4
    elif wide:
        kind, usual_block, usual_width = f"WRN-{depth + 2}-{width}", "preact", width
    else:
        kind, usual_block, usual_width = f"ResNet-{depth}", "original", 1
    name = kind if residual else f"plain-{kind}".replace("plain-ResNet-", "plain-")
    if block != usual_block:
        name = f"{block}-{name}"
    if cifar and width != usual_width:
        name += f"-w{width}"
    if cifar and kind.startswith("ResNet-") and bottleneck != cifar_bottleneck_by_name(depth):
        name += "-bottleneck" if bottleneck else "-basic"
    default = "A" if cifar and not bottleneck and width == 1 else "B"
    if residual and shortcut != default:
        name += f"-{shortcut}"
    if dropout:
        name += f"-dropout{dropout:g}"
    return name


def model_label(model: Mapping[str, Any]) -> str:
    """``label`` of a (plain, possibly partial) model config: what the 2015 paper's nets lack
    reads as ``ARCH_DEFAULTS``."""
    arch = {k: v if model.get(k) is None else model[k] for k, v in ARCH_DEFAULTS.items()}
    family = model.get("family", "cifar")
    shortcut = model.get("shortcut") or ("A" if family == "cifar" else "B")
    return label(family, int(model["depth"]), bool(model.get("residual", True)), shortcut, **arch)


def model_name(cfg: Mapping[str, Any]) -> str:
    """``label`` of a model config."""
    return model_label(validate_model_cfg(cfg))
