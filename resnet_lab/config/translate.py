"""Hydra's and OmegaConf's own errors about a config, said as the project's one-sentence
``ConfigError``: the option, the bad value and the valid values (checks.py's words where it has
a rule for the option, else the type schema.py declares), and for an unknown key the nearest
valid name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from typing import Any, get_args, get_type_hints

from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, ListConfig
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from ..errors import ConfigError, invalid, unknown_keys
from .checks import valid_values
from .schema import OPTIONS, target_schema


@contextmanager
def config_errors() -> Iterator[None]:
    """Raise Hydra's and OmegaConf's errors in the block as ``ConfigError``."""
    try:
        yield
    except (HydraException, OmegaConfBaseException) as e:
        raise as_config_error(e) from e


def as_config_error(e: Exception) -> ConfigError:
    """The one-sentence ``ConfigError`` for a Hydra or OmegaConf error."""
    cause = e
    while cause is not None:
        if isinstance(cause, ConfigError):  # raised by a resolver or a schema lookup
            return cause
        cause = cause.__cause__
    if isinstance(e, MissingConfigException) and e.options and e.missing_cfg_file:
        group, _, option = e.missing_cfg_file.rpartition("/")
        return invalid(group, option, sorted(e.options))
    cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else e
    key = getattr(cause, "full_key", None)
    if key and not key.startswith("<"):
        option = re.sub(r"\[\d+\]$", "", key)  # an item of a list: the list's option
        if isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
            parent, _, leaf = key.rpartition(".")
            return unknown_keys(parent or "config", [leaf], _keys_beside(cause))
        if isinstance(cause, ValidationError):
            valid = valid_values(option, _option_name(cause.object_type))
            return invalid(option, cause.value, valid or describe(_declared_type(cause)))
        if isinstance(cause, MissingMandatoryValue):
            return ConfigError(f"{option} has no value; set it with {option}=<value>.")
        if cause.msg:  # e.g. an interpolation to a key that does not exist
            return ConfigError(f"{option}: {cause.msg.splitlines()[0]}.")
    return ConfigError(" ".join(str(e).split()))  # Hydra's own words, on one line


def _keys_beside(e: OmegaConfBaseException) -> list[str]:
    """The valid keys where an unknown one was given (not ``_target_``: the option names it)."""
    if is_dataclass(e.object_type):
        names = [f.name for f in fields(e.object_type)]
    else:
        names = [str(k) for k in e.parent_node.keys()] if isinstance(e.parent_node, DictConfig) else []
    return [n for n in names if n != "_target_"]


def _option_name(schema: Any) -> str | None:
    """The group option whose schema ``schema`` is (``cifar`` for cifar_resnet's), if one."""
    names = [n for options in OPTIONS.values() for n, t in options.items() if target_schema(t) is schema]
    return names[0] if len(names) == 1 else None


def _declared_type(e: ValidationError) -> Any:
    if isinstance(e.parent_node, ListConfig):
        return e.parent_node._metadata.element_type
    return get_type_hints(e.object_type).get(e.key) if is_dataclass(e.object_type) else None


def describe(tp: Any) -> str:
    """A declared type in the words of a list of valid values."""
    args = [a for a in get_args(tp) if a is not type(None)]
    if type(None) in get_args(tp):
        return f"{describe(args[0])} or null"
    if getattr(tp, "__origin__", None) is list:
        return f"a list of {describe(args[0]).split(' ', 1)[-1]}s"
    return {int: "an integer", float: "a number", bool: "true, false", str: "a string"}.get(tp, "a value")
