"""The one way the rest of resnet_lab makes a network: from a model config (``build_model``) or a
net's name (``create_model``), checked first, then built by ``hydra.utils.instantiate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .naming import label


def checked(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model config (partial, or an older record's) complete and checked: ConfigError names
    the first bad option and its valid values."""
    from ..config.validation import check_model_config  # the config checks import the naming

    return check_model_config(model)


def build_model(model: Mapping[str, Any]) -> nn.Module:
    """The network a model config describes (``conf/model/*.yaml``)."""
    from hydra.utils import instantiate

    return instantiate(checked(model))


def create_model(net: str, family: str = "cifar", **options: Any) -> nn.Module:
    """A net by its name, as ``net=`` takes it: ``create_model("ResNet-110")``,
    ``create_model("ResNet-50", "imagenet", num_classes=10)``."""
    from ..config.validation import net_fields

    return build_model({**net_fields(net, family), **options})


def model_name(model: Mapping[str, Any]) -> str:
    """The legend name of a model config, checked."""
    return label(checked(model))
