"""Run records written by older code, read as today's configs: the same run, in today's keys.

- Configs named their group options by a key (``model.family: cifar``, ``data.name: cifar10``)
  before they named their constructors (``_target_``); the data sets' fixed facts
  (``num_classes``, ``channels``, ``image_size`` of CIFAR-10) were keys then, and are the data
  registry's now.
- A model option added later reads as its default: that is what the older code built
  (``families.complete``).
- An optim option added later reads as what the older code did (``OLDER_OPTIM``).

``upgrade`` is applied wherever a record's config meets today's: the resume check
(``records.RunDir.check_config``) and the figures' run records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..data.registry import DATASETS, dataset_of
from ..models.families import complete

FACTS = ("num_classes", "channels", "image_size")
# optim options added later -> what the code before them did
OLDER_OPTIM = {"warmup": {"ramp": "constant"}}  # lr 0.01, then the base lr at once


def upgrade_data(data: Mapping[str, Any]) -> dict[str, Any]:
    if "_target_" in data or data.get("name") not in DATASETS:
        return dict(data)
    ds = dataset_of(data)
    # a fact of the data set, not an option of its module (Fashion-MNIST's channels is one)
    fixed = {k for k in FACTS if getattr(ds, k) is not None
             and not (isinstance(getattr(ds, k), tuple) and len(getattr(ds, k)) > 1)}
    return {"_target_": ds.module, **{k: v for k, v in data.items() if k != "name" and k not in fixed}}


def upgrade(config: Mapping[str, Any]) -> dict[str, Any]:
    """A record's config in today's keys (a config of today's code is returned as it is)."""
    out = dict(config)
    if isinstance(out.get("model"), Mapping):
        out["model"] = complete(out["model"])
    if isinstance(out.get("data"), Mapping):
        out["data"] = upgrade_data(out["data"])
    if isinstance(out.get("optim"), Mapping):
        out["optim"] = _with_older(out["optim"], OLDER_OPTIM)
    return out


def _with_older(group: Mapping[str, Any], older: Mapping[str, Any]) -> dict[str, Any]:
    """``group`` with each option of ``older`` it lacks (in sub-groups it has) set to its value."""
    out = dict(group)
    for key, value in older.items():
        if isinstance(value, Mapping):
            if isinstance(out.get(key), Mapping):
                out[key] = _with_older(out[key], value)
        else:
            out.setdefault(key, value)
    return out
