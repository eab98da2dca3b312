"""Every config key and its type, declared once (Hydra structured configs).

The values are in conf/: each option's YAML names its schema in its defaults list
(``- /schema/data/cifar10@_here_``), and Hydra checks every value and override against it. Value
ranges and cross-field rules are in checks.py. Where a group's options have different keys
(model, data, logger), a base class holds the shared keys and each option has a subclass, so a
key of another option is refused with the chosen option's own key list.

Only the model schemas carry defaults: ``build_model`` takes partial dicts, and these are the
network's own defaults. Other groups' fields are MISSING here; their values are in their YAML.
``Any`` marks a field that takes ``auto`` or a number or bool (OmegaConf has no unions).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, get_type_hints

from omegaconf import MISSING, DictConfig, OmegaConf

from ..errors import ConfigError, invalid

# --------------------------------------------------------------------------- model


@dataclass
class ModelConfig:
    family: str = MISSING
    depth: int = MISSING
    residual: bool = True       # false = the plain net: the same layers without shortcuts
    shortcut: str = MISSING     # A: identity + zero-padding; B: projections where the shape changes; C: all
    num_classes: int = MISSING
    in_channels: int = 3
    init_mode: str = "fan_out"  # He init; the paper does not say fan_in or fan_out (torchvision: fan_out)
    # Option A's zero channels: appended after the input channels (end) or half before, half after
    # (both, as many CIFAR re-implementations). The paper does not say; the zeros are the same
    # either way, so the choice only changes which random weights meet the identity, i.e. acts
    # like a seed change. Shortcuts B and C have no zero channels and ignore it.
    shortcut_pad: str = "end"
    # true: the last BN of each residual branch starts at scale 0, so each unit starts as the
    # identity (Goyal et al. 2017; torchvision's zero_init_residual). The paper's: every BN scale
    # starts at 1. Residual nets of original units only (a plain net would start constant; a
    # pre-activation branch ends in a conv).
    zero_init_residual: bool = False
    # Beyond the paper; these defaults leave every net as the paper has it.
    block: str = "original"     # original (conv-BN-ReLU) or preact (BN-ReLU-conv, He et al. 2016)
    width: int = 1              # WRN's widening factor k of the stages (CIFAR only)
    dropout: float = 0.0        # dropout before each unit's last conv (WRN uses 0.3)
    cardinality: int = 1        # ResNeXt: groups of a bottleneck's 3x3 conv
    base_width: int = 64        # ResNeXt: the width of a group at planes 64 (torchvision's width_per_group)


@dataclass
class CifarModel(ModelConfig):
    """Sec. 4.2: a 3x3/16 stem, three stages of 2n 3x3 layers, depth 6n+2; with bottleneck
    units (He et al. 2016), three stages of n bottlenecks, depth 9n+2."""
    family: str = "cifar"
    depth: int = 20
    shortcut: str = "A"         # the paper's choice on CIFAR
    num_classes: int = 10
    bottleneck: bool = False    # bottleneck units (ResNet-164, -1001, ResNeXt-29); ImageNet's follow from the depth
    stride_in: str = "1x1"      # strided layer of a down-sampling bottleneck: 1x1 (He et al. 2016), 3x3 (ResNeXt)


@dataclass
class ImageNetModel(ModelConfig):
    """Table 1: 18, 34 (basic blocks); 50, 101, 152 (bottlenecks)."""
    family: str = "imagenet"
    depth: int = 18
    shortcut: str = "B"         # torchvision's resnet18..152
    num_classes: int = 1000
    stride_in: str = "1x1"      # strided layer of a down-sampling bottleneck: 1x1 (paper), 3x3 (torchvision v1.5)


# --------------------------------------------------------------------------- data


@dataclass
class DataConfig:
    name: str = MISSING
    num_classes: int = MISSING
    channels: int = MISSING
    image_size: int = MISSING
    batch_size: int = MISSING
    eval_batch_size: int = MISSING
    normalize: str = MISSING


@dataclass
class Augment:
    enabled: bool = MISSING
    pad: int = MISSING
    flip: bool = MISSING


@dataclass
class InMemoryData(DataConfig):
    """A data set held in memory and augmented in batches on the training device."""
    val_size: int = MISSING
    split_seed: int = MISSING
    augment: Augment = MISSING
    device: str = MISSING
    eval_subset: int | None = MISSING


@dataclass
class Cifar10Data(InMemoryData):
    root: str = MISSING
    download: bool = MISSING


@dataclass
class FashionMnistData(Cifar10Data):
    system_dirs: list[str] = MISSING


@dataclass
class SyntheticData(InMemoryData):
    seed: int = MISSING
    train_size: int = MISSING
    test_size: int = MISSING
    noise: float = MISSING


@dataclass
class ImageNetData(DataConfig):
    root: str = MISSING
    scale_range: list[int] = MISSING
    val_resize: int = MISSING
    color_jitter: float = MISSING  # beyond the paper (0: off)
    lighting: float = MISSING
    mean_sample: int = MISSING     # training images averaged into the per-pixel mean
    test_mode: str = MISSING       # center, ten_crop or multiscale (the final test)
    test_scales: list[int] = MISSING  # multiscale: shorter sides of the whole image
    num_workers: Any = MISSING  # auto or an integer
    pin_memory: Any = MISSING   # auto, true or false


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
    ckpt_every: int = MISSING
    deterministic: bool = MISSING
    channels_last: Any = MISSING   # auto, true or false
    compile: bool = MISSING
    compile_mode: str = MISSING
    progress: str = MISSING


# --------------------------------------------------------------------------- logger, the rest


@dataclass
class LoggerConfig:
    name: str = MISSING


@dataclass
class WandbLogger(LoggerConfig):
    project: str = MISSING
    entity: str | None = MISSING
    mode: str = MISSING


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
    model: ModelConfig = MISSING
    data: DataConfig = MISSING
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    logger: LoggerConfig = MISSING
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


# The schema of each option of the groups whose options differ in keys, found by the key that
# names the option (`data.name: cifar10` is data=cifar10). ConfigStore holds each as
# schema/<group>/<option>.
OPTIONS: dict[str, tuple[str, dict[str, type]]] = {
    "model": ("family", {"cifar": CifarModel, "imagenet": ImageNetModel}),
    "data": ("name", {"cifar10": Cifar10Data, "fashion_mnist": FashionMnistData,
                      "synthetic": SyntheticData, "imagenet": ImageNetData}),
    "logger": ("name", {"wandb": WandbLogger, "csv": LoggerConfig, "none": LoggerConfig}),
}
# The keys a model config may have, whatever its family (a run's saved model config, filtered).
MODEL_KEYS = frozenset(f.name for schema in OPTIONS["model"][1].values() for f in fields(schema))


def option_schema(group: str, node: Mapping, default: str | None = None) -> type:
    """The schema of the option a plain config node of ``group`` is (``default`` if unnamed)."""
    key, options = OPTIONS[group]
    name = node.get(key, default)
    if name not in options:
        raise invalid(f"{group}.{key}", name, tuple(options))
    return options[name]


def typed(c: Mapping) -> DictConfig:
    """A plain config (a resolved Hydra config, or a run's config.yaml) in its schema: each
    group in its chosen option's schema. Raises OmegaConf's errors (see translate.py)."""
    tree = OmegaConf.structured(Config)
    for group in OPTIONS:
        if not isinstance(c.get(group), Mapping):
            raise ConfigError(f"config group {group!r} is missing; pick one with {group}=<option>.")
        tree[group] = option_schema(group, c[group])
    tree.merge_with(c)
    missing = sorted(OmegaConf.missing_keys(tree))
    if missing:
        raise ConfigError(f"{missing[0]} has no value; set it with {missing[0]}=<value>.")
    return tree


def shared_model_defaults() -> dict[str, Any]:
    """The model fields every family defaults alike (ModelConfig's). A record written before
    one of them existed reads as its default: that is what the older code built."""
    return {f.name: f.default for f in fields(ModelConfig) if f.default is not MISSING}


def keys(schema: type = Config, prefix: str = "") -> Iterator[str]:
    """Every dotted key the schema declares, through every option of every group."""
    for f in fields(schema):
        key = prefix + f.name
        yield key
        options = OPTIONS[f.name][1].values() if not prefix and f.name in OPTIONS else ()
        nested = get_type_hints(schema)[f.name]
        for sub in {*options, *([nested] if is_dataclass(nested) else [])}:
            yield from keys(sub, key + ".")
