"""``build_model(cfg)``: the one way the rest of resnet_lab makes a network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import invalid, unknown_keys
from .blocks import SHORTCUTS
from .cifar import CifarResNet
from .imagenet import STAGES, ImageNetResNet

FAMILIES = ("cifar", "imagenet")
STRIDE_IN = ("1x1", "3x3")
INIT_MODES = ("fan_out", "fan_in")
# Keys of the model config group; `name` is a free-form label used for run names.
MODEL_KEYS = {
    "family", "depth", "residual", "shortcut", "stride_in", "num_classes", "in_channels",
    "init_mode", "name",
}
CIFAR_DEPTH_HINT = "6n+2 for any n >= 1 (the paper uses 20, 32, 44, 56, 110, 1202)"


def _as_bool(option: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise invalid(option, value, "true, false")


def _as_int(option: str, value: Any, valid: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(option, value, valid)
    return value


def validate_model_cfg(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Check a model config and return it as plain keyword values, defaults filled in.

    Raises ``ConfigError`` naming the option and its valid values.
    """
    cfg = dict(cfg)
    err = unknown_keys("model", cfg.keys(), MODEL_KEYS)
    if err:
        raise err
    family = cfg.get("family", "cifar")
    if family not in FAMILIES:
        raise invalid("model.family", family, FAMILIES)
    if family == "cifar":
        depth = _as_int("model.depth", cfg.get("depth", 20), CIFAR_DEPTH_HINT)
        if depth < 8 or (depth - 2) % 6:
            raise invalid("model.depth", depth, CIFAR_DEPTH_HINT)
    else:
        depth = _as_int("model.depth", cfg.get("depth", 18), tuple(STAGES))
        if depth not in STAGES:
            raise invalid("model.depth", depth, tuple(STAGES))
    residual = _as_bool("model.residual", cfg.get("residual", True))
    default_shortcut = "A" if family == "cifar" else "B"
    shortcut = cfg.get("shortcut", default_shortcut)
    if shortcut not in SHORTCUTS:
        raise invalid("model.shortcut", shortcut, SHORTCUTS)
    if not residual and shortcut != "A":
        # Plain nets have no shortcuts; B/C would silently add projection layers that a
        # "plain" net in the paper does not have.
        raise invalid(
            "model.shortcut", shortcut, "A with model.residual=false (plain nets have no shortcuts)"
        )
    stride_in = cfg.get("stride_in", "1x1")
    if stride_in not in STRIDE_IN:
        raise invalid("model.stride_in", stride_in, STRIDE_IN)
    num_classes = _as_int("model.num_classes", cfg.get("num_classes", 10 if family == "cifar" else 1000), "an integer >= 2")
    if num_classes < 2:
        raise invalid("model.num_classes", num_classes, "an integer >= 2")
    in_channels = _as_int("model.in_channels", cfg.get("in_channels", 3), "an integer >= 1")
    if in_channels < 1:
        raise invalid("model.in_channels", in_channels, "an integer >= 1")
    init_mode = cfg.get("init_mode", "fan_out")
    if init_mode not in INIT_MODES:
        raise invalid("model.init_mode", init_mode, INIT_MODES)
    out = dict(
        family=family, depth=depth, residual=residual, shortcut=shortcut,
        num_classes=num_classes, in_channels=in_channels, init_mode=init_mode,
    )
    if family == "imagenet":
        out["stride_in"] = stride_in
    return out


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
