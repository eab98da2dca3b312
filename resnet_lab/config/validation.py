"""``validate(cfg)``: a whole config against its schema (schema.py: keys, types) and its rules
(checks.py: ranges, cross-field). Every problem is one ``ConfigError`` sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..models.choices import FAMILIES
from ..models.families import complete
from ..models.naming import parse_net
from .checks import (
    check_callbacks,
    check_data,
    check_model,
    check_net,
    check_together,
    check_values,
)
from .schema import OPTIONS, option_of, target_schema, typed
from .translate import config_errors


def conform(cfg: DictConfig | Mapping) -> dict[str, Any]:
    """The config as plain data, resolved, each group in its option's schema (a key added with
    ``+`` that the option does not have is refused here), without the ``hydra`` node."""
    with config_errors():
        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        c.pop("hydra", None)
        return OmegaConf.to_container(typed(c))


def validate(cfg: DictConfig | Mapping) -> None:
    """Raise ``ConfigError`` naming the first option with a bad value and its valid values."""
    c = conform(cfg)
    check_values(c)
    check_net(c["net"], c["model"])
    check_model(c["model"])
    check_data(c["data"])
    check_callbacks(c["callbacks"])
    check_together(c)


def check_model_config(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model config (partial: the family's defaults fill it; ``family: cifar`` may stand for
    its ``_target_``) complete, typed and checked like a whole config's model: a key the family
    does not take is refused with the nearest valid name."""
    m = complete(model)
    with config_errors():
        tree = OmegaConf.create({"model": target_schema(OPTIONS["model"][option_of("model", m)])})
        tree.merge_with({"model": m}, {"model": {k: v for k, v in model.items() if k != "family"}})
        m = OmegaConf.to_container(tree.model, resolve=True)
    check_values({"model": m})
    check_model(m)
    return m


def net_fields(net: str, family: str = "cifar") -> dict[str, Any]:
    """The model config a ``net=`` name gives in ``family``; ConfigError when it names none."""
    check_net(net, {"family": family})
    return {"_target_": FAMILIES[family], **parse_net(net, family)}
