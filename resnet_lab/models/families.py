"""The network families, one function each: its signature is the family's config (the keys,
types and defaults of ``conf/model/<family>.yaml`` are derived from it, ``config/schema.py``), its
body assembles the net from parts (``net.assemble``). The options every family shares are declared
once, in ``UnitOptions``; a family takes only the options it uses.

This module imports no torch (the parts are imported when a net is built), so the config, the
naming and the figures can read the families' signatures without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..signatures import parameters, takes
from .choices import (
    CIFAR_WIDTHS,
    FAMILIES,
    IMAGENET_STAGES,
    IMAGENET_WIDTHS,
    cifar_units_per_stage,
    family_of,
)


@dataclass(frozen=True)
class UnitOptions:
    """What the units of every family take; the defaults are the 2015 paper's nets."""

    residual: bool = True  # false: the plain net, the same layers without shortcuts
    in_channels: int = 3  # the stem's input channels (Fashion-MNIST's gray images: 1)
    block: str = "original"  # original (conv-BN-ReLU, 2015) or preact (BN-ReLU-conv, He et al. 2016)
    dropout: float = 0.0  # dropout before each unit's last conv (Zagoruyko & Komodakis: 0.3)
    cardinality: int = 1  # ResNeXt: the groups of a bottleneck's 3x3 conv
    base_width: int = 64  # ResNeXt: a group's width at 64 planes (torchvision's width_per_group)
    # the strided layer of a down-sampling bottleneck: 1x1 (the paper), 3x3 (torchvision v1.5, ResNeXt)
    stride_in: str = "1x1"
    init_mode: str = "fan_out"  # He init's fan; the paper does not say which (torchvision: fan_out)
    # Option A's zero channels: after the input's (end) or half before, half after (both, as many
    # CIFAR re-implementations). The paper does not say; either way the zeros are the same, only
    # which random weights meet the identity changes (like a seed). B and C ignore it.
    shortcut_pad: str = "end"
    # true: each residual branch's last BN starts at scale 0, so each unit starts as its shortcut
    # (Goyal et al. 2017; torchvision's zero_init_residual). The paper's BN scales start at 1.
    zero_init_residual: bool = False
    # what stands between a unit's branch and the addition: models/gates.py's GATES (identity: the
    # paper's)
    gate: str = "identity"
    norm: str = "bn"  # what follows each conv: models/norms.py's NORMS (bn: the paper's)
    # the initialisation strategy: models/init.py's INITS (he: the paper's; fixup needs norm=none)
    init: str = "he"
    survival_last: float = 0.5  # stochastic depth's p_L: the last unit's survival probability


def _initialised(net, o: UnitOptions):
    from . import init

    init.INITS[o.init](net, o.init_mode)
    if o.zero_init_residual:
        init.zero_last_bn(net)
    return net


@takes(UnitOptions)
def cifar_resnet(depth: int = 20, shortcut: str = "A", num_classes: int = 10,
                 bottleneck: bool = False, width: int = 1, **options: Any):
    """CIFAR-10's nets (Sec. 4.2): a 3x3 stem of 16 filters, three stages of n units of 16, 32, 64
    filters on maps of 32, 16, 8 (down-sampling by stride-2 convs), global average pooling, fc.
    Depth 6n+2 with basic units; with ``bottleneck`` units 9n+2 (He et al. 2016: ResNet-164,
    -1001), whose stem has the first stage's planes. ``width`` k multiplies the stages' planes
    (WRN-d-k keeps the 16-filter stem). The paper uses shortcut option A on CIFAR."""
    from .ends import cifar_stem
    from .net import assemble

    o = UnitOptions(**options)
    n = cifar_units_per_stage(depth, bottleneck)
    stem_width = CIFAR_WIDTHS[0] * width if bottleneck else CIFAR_WIDTHS[0]
    stages = [(w * width, n, 1 if i == 0 else 2) for i, w in enumerate(CIFAR_WIDTHS)]
    net = assemble(lambda norm: cifar_stem(o.in_channels, stem_width, norm), stages, bottleneck,
                   shortcut, num_classes, o)
    return _initialised(net, o)


@takes(UnitOptions)
def imagenet_resnet(depth: int = 18, shortcut: str = "B", num_classes: int = 1000, **options: Any):
    """ImageNet's nets (Table 1): a 7x7/64 stride-2 stem and a 3x3 max pool, four stages of 64,
    128, 256, 512 planes, global average pooling, fc; 18 and 34 layers of basic units, 50, 101
    and 152 of bottlenecks. Any input of 32 pixels or more. Option B is torchvision's (its
    resnet18..152 are these nets with ``stride_in=3x3``); the paper's Table 2 and Fig. 4 use A.
    ImageNet nets widen inside their bottlenecks (``base_width``, torchvision's wide_resnet50_2)."""
    from .ends import imagenet_stem
    from .net import assemble

    o = UnitOptions(**options)
    kind, counts = IMAGENET_STAGES[depth]
    stages = [(w, c, 1 if i == 0 else 2) for i, (w, c) in enumerate(zip(IMAGENET_WIDTHS, counts, strict=True))]
    net = assemble(lambda norm: imagenet_stem(o.in_channels, norm), stages, kind == "bottleneck",
                   shortcut, num_classes, o)
    return _initialised(net, o)


# by family name (choices.FAMILIES holds their import paths, for configs that name them)
FAMILY_FUNCTIONS: dict[str, Callable] = {"cifar": cifar_resnet, "imagenet": imagenet_resnet}


def defaults(family: str) -> dict[str, Any]:
    """Every option of ``family`` with its default (its signature's)."""
    return dict(_defaults(family))


@cache
def _defaults(family: str) -> tuple[tuple[str, Any], ...]:
    return tuple((name, p.default) for name, p in parameters(FAMILY_FUNCTIONS[family]).items())


def options(family: str) -> tuple[str, ...]:
    """The options ``family`` takes."""
    return tuple(defaults(family))


def complete(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model config (partial, or a record's) with its ``_target_`` and every option of its
    family, the defaults where it has none. Records written before the configs named their
    constructors (``family: cifar``) or before an option existed read as the net they built:
    the older code built an option's default, and kept keys its family does not take at their
    neutral values (an ImageNet net's ``width: 1``)."""
    family = family_of(model)
    full = defaults(family)
    return {"_target_": FAMILIES[family], **full,
            **{k: v for k, v in model.items() if k in full and v is not None}}
