"""``build_model(cfg)``: the one way the rest of resnet_lab makes a network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .cifar import CifarResNet
from .imagenet import ImageNetResNet


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


def label(family: str, depth: int, residual: bool, shortcut: str) -> str:
    """The paper's legend names: ``plain-56``, ``ResNet-110``, ``ResNet-34-C``. The shortcut is
    named unless it is the family's default (A on CIFAR, B on ImageNet)."""
    if not residual:
        return f"plain-{depth}"
    default = "A" if family == "cifar" else "B"
    return f"ResNet-{depth}" + ("" if shortcut == default else f"-{shortcut}")


def model_name(cfg: Mapping[str, Any]) -> str:
    """``label`` of a model config."""
    kw = validate_model_cfg(cfg)
    return label(kw["family"], kw["depth"], kw["residual"], kw["shortcut"])
