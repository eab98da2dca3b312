"""``validate(cfg)``: a whole config against its schema (schema.py: keys, types) and its rules
(checks.py: ranges, cross-field). Every problem is one ``ConfigError`` sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .checks import check_callbacks, check_data, check_model, check_together, check_values
from .schema import option_schema, typed
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
    check_model(c["model"])
    check_data(c["data"])
    check_callbacks(c["callbacks"])
    check_together(c)


def model_kwargs(model: Mapping) -> dict[str, Any]:
    """A model config (partial, plain) as ``build_model``'s keyword values: the option's
    defaults filled in, checked like a whole config's model."""
    with config_errors():
        tree = OmegaConf.create({"model": option_schema("model", model, default="cifar")})
        tree.merge_with({"model": model})
    m = OmegaConf.to_container(tree.model)
    check_values({"model": m})
    check_model(m)
    return m
