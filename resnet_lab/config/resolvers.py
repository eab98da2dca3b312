"""The resolvers conf/ uses, registered by ``register()`` (never as an import side effect):

- ``${from_net:<option>}``: a model option from the top-level ``net`` shorthand (``net=plain-56``
  sets depth and residual), else its family's default; every family option defaults to it
  (schema.target_schema), so a setting given directly wins;
- ``${net_label:}``: the legend name of the run's model (``run_name``);
- ``${dataset:<fact>}``: ``name``, ``num_classes``, ``channels`` or ``image_size`` of the run's
  data: the data config's own value where it has one, else the data set's (data/registry.py);
- ``${if_default_root:<root>,<default root>,<dir>}``: ``[<dir>]`` (a system copy of a data set)
  when ``<root>`` is the default one, else ``[]``: a ``data.root`` given is the only place looked at.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..data.registry import dataset_of, fact
from ..models.choices import family_of
from ..models.families import defaults
from ..models.naming import label, parse_net


def from_net(option: str, *, _parent_: DictConfig, _root_: DictConfig) -> Any:
    """An unreadable ``net`` gives the default too; ``validate`` then reports it."""
    family = family_of(_parent_)
    parsed = parse_net(_root_.net, family) if _root_.net is not None else None
    if parsed and option in parsed:
        return parsed[option]
    return defaults(family)[option]


def net_label(*, _root_: DictConfig) -> str:
    return label(OmegaConf.to_container(_root_.model, resolve=True))


def dataset(key: str, *, _root_: DictConfig) -> Any:
    data = _root_.data
    return dataset_of(data).name if key == "name" else fact(data, key)


def if_default_root(root: str, default: str, system_dir: str) -> list[str]:
    return [system_dir] if root == default else []


def register_resolvers() -> None:
    for name, resolver in (("from_net", from_net), ("net_label", net_label), ("dataset", dataset),
                           ("if_default_root", if_default_root)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
