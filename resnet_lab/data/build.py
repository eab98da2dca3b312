"""``build_datamodule``: the data module of a data config, built by ``hydra.utils.instantiate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def build_datamodule(data: Mapping[str, Any], seed: int = 0):
    """The LightningDataModule of a checked data config (its ``_target_``), with ``seed`` for
    the order and augmentation of its training batches."""
    from hydra.utils import instantiate

    return instantiate(dict(data), order_seed=seed, _convert_="all")
