"""The valid values of the model options and the architecture facts they come from, in a leaf
module that imports nothing heavy: the config's checks, the naming, the figures and the nets all
read them here."""

from __future__ import annotations

# The network families: the config group option (model=cifar) and its constructor.
FAMILIES = {
    "cifar": "resnet_lab.models.families.cifar_resnet",
    "imagenet": "resnet_lab.models.families.imagenet_resnet",
}

SHORTCUTS = ("A", "B", "C")  # He et al. 2015, Sec. 3.3 and 4.1
UNITS = ("original", "preact")  # model.block: conv-BN-ReLU (2015) or BN-ReLU-conv (2016)
SHORTCUT_PADS = ("end", "both")  # where option A's zero channels go
INIT_MODES = ("fan_out", "fan_in")  # He init's fan
STRIDE_IN = ("1x1", "3x3")  # the strided layer of a down-sampling bottleneck

# CIFAR (Sec. 4.2): three stages of 16, 32, 64 filters on maps of 32, 16, 8.
CIFAR_WIDTHS = (16, 32, 64)
# ImageNet (Table 1): depth -> (unit, units per stage conv2_x..conv5_x) of 64..512 planes.
IMAGENET_WIDTHS = (64, 128, 256, 512)
IMAGENET_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def family_of(model) -> str:
    """The family of a model config: by its ``_target_``, or ``family`` (records written before
    the configs named their constructors, and the Python API's shorthand); cifar when neither."""
    from ..errors import invalid  # a leaf too

    target, family = model.get("_target_"), model.get("family")
    if target is not None:
        found = [name for name, path in FAMILIES.items() if path == target]
        if not found:
            raise invalid("model._target_", target, list(FAMILIES.values()))
        return found[0]
    if family is not None and family not in FAMILIES:
        raise invalid("model.family", family, list(FAMILIES))
    return family or "cifar"


def has_bottlenecks(family: str, depth: int, bottleneck: bool = False) -> bool:
    """Whether a net's units are bottlenecks: CIFAR's by ``model.bottleneck``, ImageNet's by its
    depth (Table 1)."""
    if family == "imagenet":
        return IMAGENET_STAGES.get(depth, ("basic",))[0] == "bottleneck"
    return bool(bottleneck)


def cifar_units_per_stage(depth: int, bottleneck: bool) -> int:
    """n of depth 6n+2 (two 3x3 layers a unit) or 9n+2 (three layers a bottleneck)."""
    return (depth - 2) // (9 if bottleneck else 6)
