"""The paper's networks: CIFAR (6n+2) and ImageNet (18..152), plain or residual."""

from .blocks import SHORTCUTS, BasicBlock, Bottleneck, ZeroPadShortcut
from .build import build_model, label, model_name, validate_model_cfg
from .cifar import CifarResNet
from .imagenet import ImageNetResNet
from .inspect import count_flops, count_params, response_layers

__all__ = [
    "SHORTCUTS", "BasicBlock", "Bottleneck", "ZeroPadShortcut", "CifarResNet", "ImageNetResNet",
    "build_model", "label", "model_name", "validate_model_cfg", "count_flops", "count_params",
    "response_layers",
]
