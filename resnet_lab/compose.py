"""Compose the Hydra config without the command line (tests, benchmarks, notebooks)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import DictConfig

from . import config as _config  # noqa: F401  (registers the ${label:...} resolver)

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(overrides: Iterable[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """``conf/config.yaml`` with ``overrides`` applied, as ``python run.py <overrides>`` sees it."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)
