"""Every config key and its type, declared once (Hydra structured configs).

The groups that build objects (model, data, logger) take their schemas from the constructors
they build, each option's ``_target_`` (``target_schema``: hydra-zen's ``builds`` with the whole
signature): the keys, the types and the defaults of a signature are its config's, so a default
lives in the signature or in the option's YAML, never both. ``OPTIONS`` names each group's
options and their constructors; conf/'s YAML names its schema in its defaults list
(``- /schema/data/cifar10@_here_``), and Hydra checks every value and override against it. A key
of another option is refused with the chosen option's own key list.

The other groups (optim, trainer, paths, responses) are declared below, their values in their
YAML. Value ranges and cross-field rules are in checks.py. ``Any`` marks a field that takes
``auto`` or a number or bool (OmegaConf has no unions).

Importing this module imports no constructor (and no torch): the schemas are made when asked.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, make_dataclass
from functools import cache
from typing import Any, get_type_hints

from omegaconf import MISSING, DictConfig, OmegaConf

from ..data.registry import DATASETS
from ..errors import ConfigError, invalid
from ..models.choices import FAMILIES

# --------------------------------------------------------------------------- optim, trainer


@dataclass
class Plateau:
    patience: int = MISSING
    threshold: float = MISSING


@dataclass
class Warmup:
    enabled: Any = MISSING      # auto, true or false
    lr: float = MISSING
    until: str = MISSING
    ramp: str = MISSING
    error_below: float = MISSING
    window: int = MISSING
    steps: int = MISSING


@dataclass
class OptimConfig:
    name: str = MISSING
    lr: float = MISSING
    momentum: float = MISSING
    nesterov: bool = MISSING
    weight_decay: float = MISSING
    decay_bn_and_bias: bool = MISSING
    schedule: str = MISSING
    milestones: list[int] = MISSING
    gamma: float = MISSING
    plateau: Plateau = MISSING
    warmup: Warmup = MISSING
    implementation: str = MISSING


@dataclass
class TrainerConfig:
    accelerator: str = MISSING
    devices: Any = MISSING         # auto or an integer
    num_nodes: int = MISSING
    strategy: str = MISSING
    sync_batchnorm: Any = MISSING  # auto, true or false
    precision: str = MISSING
    max_steps: int = MISSING
    eval_every: int = MISSING
    log_every: int = MISSING
    log_grad_norm: bool = MISSING
    ckpt_every: int = MISSING
    deterministic: bool = MISSING
    channels_last: Any = MISSING   # auto, true or false
    compile: bool = MISSING
    compile_mode: str = MISSING
    progress: str = MISSING


# --------------------------------------------------------------------------- the rest


@dataclass
class Paths:
    output_root: str = MISSING
    data_dir: str = MISSING


@dataclass
class Responses:
    enabled: bool = MISSING
    reduce: str = MISSING
    at_checkpoints: bool = MISSING


@dataclass
class Config:
    model: Any = MISSING  # target_schema of the model option
    data: Any = MISSING  # ... of the data option
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    logger: Any = MISSING  # ... of the logger option (logger=none: empty)
    # Lightning callbacks by name, each built from its `_target_` (free-form: a user adds one
    # with +callbacks.<name>._target_=pkg.Class); checks.py checks that each has a `_target_`.
    callbacks: dict[str, Any] = field(default_factory=dict)
    paths: Paths = MISSING
    net: str | None = MISSING
    seed: int = MISSING
    study: str = MISSING
    run_name: str = MISSING
    tags: list[str] = MISSING
    ckpt_path: str | None = MISSING
    responses: Responses = MISSING


# The options of the groups that build objects: option name (conf/<group>/<name>.yaml) -> the
# constructor its `_target_` names. ConfigStore holds each one's schema as schema/<group>/<name>.
OPTIONS: dict[str, dict[str, str | None]] = {
    "model": dict(FAMILIES),
    "data": {name: d.module for name, d in DATASETS.items()},
    "logger": {"wandb": "resnet_lab.loggers.StudyWandbLogger",
               "csv": "resnet_lab.loggers.ResumableCSVLogger", "none": None},
}
# Model options set from the config's other groups in conf/model/*.yaml, not by `net`
WIRED = ("num_classes", "in_channels")


@dataclass
class NoOptions:
    """The schema of an option that builds nothing (logger=none)."""


@cache
def target_schema(target: str | None) -> type:
    """The structured config of a constructor: ``_target_`` and every parameter of its signature
    with its type and default, less those the run gives it (its ``runtime_args``). A network
    family's options default to ``${from_net:<option>}``: the ``net`` shorthand when it names the
    option, else the signature's default (resolvers.py)."""
    if target is None:
        return NoOptions
    from hydra.utils import get_object
    from hydra_zen import builds

    obj = get_object(target)
    base = builds(obj, populate_full_signature=True, zen_convert={"dataclass": False},
                  zen_exclude=tuple(getattr(obj, "runtime_args", ())),
                  zen_dataclass={"cls_name": f"{target.rsplit('.', 1)[-1]}Config"})
    if target not in FAMILIES.values():
        return base
    net = [(f.name, f.type, field(default=f"${{from_net:{f.name}}}"))
           for f in fields(base) if f.name != "_target_" and f.name not in WIRED]
    return make_dataclass(base.__name__, net, bases=(base,))


def option_of(group: str, node: Mapping) -> str:
    """The option a plain config node of ``group`` is, by its ``_target_`` (an empty node: the
    option that builds nothing)."""
    target = node.get("_target_")
    for name, t in OPTIONS[group].items():
        if t == target:
            return name
    raise invalid(f"{group}._target_", target, [t for t in OPTIONS[group].values() if t])


def typed(c: Mapping) -> DictConfig:
    """A plain config (a resolved Hydra config, or a run's config.yaml brought up to date by
    legacy.py) in its schema: each group in its option's schema. Raises OmegaConf's errors (see
    translate.py)."""
    tree = OmegaConf.structured(Config)
    for group, options in OPTIONS.items():
        node = c.get(group)
        if not isinstance(node, Mapping) and not (node is None and None in options.values()):
            raise ConfigError(f"config group {group!r} is missing; pick one with {group}=<option>.")
        tree[group] = target_schema(options[option_of(group, node or {})])
    tree.merge_with(c)
    missing = sorted(OmegaConf.missing_keys(tree))
    if missing:
        raise ConfigError(f"{missing[0]} has no value; set it with {missing[0]}=<value>.")
    return tree


def keys(schema: type = Config, prefix: str = "") -> Iterator[str]:
    """Every dotted key the schema declares, through every option of every group."""
    for f in fields(schema):
        key = prefix + f.name
        yield key
        options = ([target_schema(t) for t in OPTIONS[f.name].values()]
                   if not prefix and f.name in OPTIONS else ())
        nested = get_type_hints(schema)[f.name]
        for sub in {*options, *([nested] if is_dataclass(nested) else [])}:
            yield from keys(sub, key + ".")
