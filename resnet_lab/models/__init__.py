"""The paper's networks: CIFAR (6n+2) and ImageNet (18..152), plain or residual; and the
follow-ups in the same blocks: pre-activation units, CIFAR bottlenecks (9n+2), wide and ResNeXt."""

from .blocks import BLOCKS, SHORTCUT_PADS, SHORTCUTS, BasicBlock, Bottleneck, ZeroPadShortcut
from .build import ARCH_DEFAULTS, build_model, label, model_label, model_name, validate_model_cfg
from .cifar import CifarResNet
from .imagenet import ImageNetResNet
from .inspect import count_flops, count_params, count_weights, response_layers

__all__ = [
    "ARCH_DEFAULTS", "BLOCKS", "SHORTCUT_PADS", "SHORTCUTS", "BasicBlock", "Bottleneck", "ZeroPadShortcut",
    "CifarResNet", "ImageNetResNet", "build_model", "label", "model_label", "model_name",
    "validate_model_cfg", "count_flops", "count_params", "count_weights", "response_layers",
]
