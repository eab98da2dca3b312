"""Compose the Hydra config without the command line (tests, benchmarks, notebooks)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from .config import register
from .config.translate import config_errors

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(overrides: Iterable[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """``conf/config.yaml`` with ``overrides`` applied, as ``python run.py <overrides>`` sees it.
    A key or value Hydra refuses raises ``ConfigError`` with one sentence."""
    register()
    with config_errors():
        if GlobalHydra.instance().is_initialized():  # inside run.py's app (its callbacks): its conf/
            return hydra_compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return hydra_compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)


def sweep_jobs(overrides: Iterable[str] = ()) -> list[list[str]]:
    """The jobs ``python run.py -m <overrides>`` launches, as override lists, in the order of
    Hydra's basic sweeper: the experiment's ``hydra.sweeper.params``, then the command line,
    a later value of a key replacing an earlier one, then the cartesian product."""
    parser = OverridesParser.create()
    cli = parser.parse_overrides(list(overrides))
    cfg = compose([o.input_line for o in cli if not o.is_sweep_override()], return_hydra_config=True)
    params = cfg.hydra.sweeper.params or {}
    axes: dict[str, list[str]] = {}
    for o in parser.parse_overrides([f"{k}={v}" for k, v in params.items()]) + cli:
        key = o.get_key_element()
        axes[key] = ([f"{key}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
                     else [o.input_line])
    return [list(job) for job in itertools.product(*axes.values())]
