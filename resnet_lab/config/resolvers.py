"""The resolvers conf/ uses, registered by ``register()`` (never as an import side effect):
``${label:family,depth,residual,shortcut}`` names a run (``run_name``), ``${from_net:field}``
reads a model field from the top-level ``net`` shorthand."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..models.build import label
from .schema import option_schema

NET_PATTERN = re.compile(r"^(plain|resnet)-(\d+)(?:-([ABC]))?$", re.IGNORECASE)
NET_HINT = "plain-<depth> or ResNet-<depth>[-A|-B|-C], e.g. plain-56, ResNet-110, ResNet-34-C"


def parse_net(net: str) -> dict[str, Any] | None:
    """``plain-56`` -> depth 56, residual false; ``ResNet-34-C`` -> also shortcut C. None if
    ``net`` is not of that form."""
    m = NET_PATTERN.match(str(net).strip())
    if not m:
        return None
    residual = m.group(1).lower() == "resnet"
    out: dict[str, Any] = {"depth": int(m.group(2)), "residual": residual}
    if m.group(3):
        out["shortcut"] = m.group(3).upper()
    elif not residual:
        out["shortcut"] = "A"  # a plain net has no shortcut; A adds no layers (same parameters)
    return out


def from_net(field: str, *, _parent_: DictConfig, _root_: DictConfig) -> Any:
    """A model field from ``net`` (``plain-56``: depth 56, residual false), else the model
    option's default (schema.py). An unreadable ``net`` gives the default too; ``validate``
    then reports it."""
    parsed = parse_net(_root_.net) if _root_.net is not None else None
    if parsed and field in parsed:
        return parsed[field]
    return getattr(option_schema("model", _parent_)(), field)


def register_resolvers() -> None:
    for name, resolver in (("label", label), ("from_net", from_net)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
