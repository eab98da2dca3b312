"""Value ranges and cross-field rules, with their messages: what schema.py's types cannot say.

``RULES`` gives each checked option its valid values, as a test and the words a message uses
(translate.py uses the same words when OmegaConf refuses a value's type). The functions below
check the rules that tie options together. All take plain, typed config data (validation.py).
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..data.registry import TEST_MODES, dataset_of, fact
from ..errors import invalid
from ..metric_names import GRAD_NORM, ITERATION_SERIES
from ..models.choices import (
    IMAGENET_STAGES,
    INIT_MODES,
    SHORTCUT_PADS,
    SHORTCUTS,
    STRIDE_IN,
    UNITS,
    family_of,
    has_bottlenecks,
)
from ..models.naming import NET_HINT, parse_net


class Rule(NamedTuple):
    valid: str                  # the valid values, as a message lists them
    ok: Callable[[Any], bool]


def names_of(module: str, table: str) -> Callable[[], Rule]:
    """The keys of a parts table (``models.gates.GATES``) as a rule, read when a config is
    checked: the table that builds the parts is the one list of their names, and this module
    imports no torch."""
    def rule() -> Rule:
        return one_of(*getattr(importlib.import_module(module), table))
    return rule


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _yaml(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def one_of(*choices: Any) -> Rule:
    # compared with their types: for an `auto, true, false` option, 1 is not true
    return Rule(", ".join(map(_yaml, choices)),
                lambda v: any(type(v) is type(c) and v == c for c in choices))


def at_least(lo: int) -> Rule:
    return Rule(f"an integer >= {lo}", lambda v: _is_int(v) and v >= lo)


def in_range(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Rule:
    def ok(v: Any) -> bool:
        return (isinstance(v, numbers.Real) and not isinstance(v, bool)
                and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi))
    return Rule(f"a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}", ok)


def either(a: Rule, b: Rule) -> Rule:
    return Rule(f"{a.valid} or {b.valid}", lambda v: a.ok(v) or b.ok(v))


def optional(rule: Rule) -> Rule:
    return Rule(f"{rule.valid} or null", lambda v: v is None or rule.ok(v))


AUTO_OR_BOOL = one_of("auto", True, False)
PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "64-true")
DEPTHS = {  # by model family
    "cifar": Rule("6n+2 for any n >= 1 (the paper uses 20, 32, 44, 56, 110, 1202), "
                  "or 9n+2 with model.bottleneck=true",
                  lambda d: _is_int(d) and d >= 8 and (d - 2) % 6 == 0),
    "imagenet": one_of(*IMAGENET_STAGES),
}
CIFAR_BOTTLENECK_DEPTHS = Rule("9n+2 for any n >= 1 with model.bottleneck=true (the pre-activation "
                               "paper uses 164 and 1001, ResNeXt 29)",
                               lambda d: _is_int(d) and d >= 11 and (d - 2) % 9 == 0)
GROUPS_NEED = "with basic units (a grouped 3x3 needs bottlenecks: model.bottleneck=true on CIFAR, " \
              "depth 50, 101 or 152 on ImageNet)"

# Options absent from the chosen group option (data.scale_range with data=cifar10) are skipped; a
# rule may be a function that gives it when a config is checked (names_of).
RULES: dict[str, Rule | Callable[[], Rule]] = {
    "model.shortcut": one_of(*SHORTCUTS),
    "model.stride_in": one_of(*STRIDE_IN),
    "model.num_classes": at_least(2),
    "model.in_channels": at_least(1),
    "model.init_mode": one_of(*INIT_MODES),
    "model.shortcut_pad": one_of(*SHORTCUT_PADS),
    "model.block": one_of(*UNITS),
    "model.gate": names_of("resnet_lab.models.gates", "GATES"),
    "model.survival_last": in_range(0, 1, lo_open=True),
    "model.norm": names_of("resnet_lab.models.norms", "NORMS"),
    "model.init": names_of("resnet_lab.models.init", "INITS"),
    "model.width": at_least(1),
    "model.dropout": in_range(0, 1, hi_open=True),
    "model.cardinality": at_least(1),
    "model.base_width": at_least(1),
    "data.num_classes": at_least(1),
    "data.batch_size": at_least(1),
    "data.eval_batch_size": at_least(1),
    "data.normalize": one_of("per_pixel_mean", "per_channel"),
    "data.val_size": at_least(0),
    "data.augment.pad": at_least(0),
    "data.device": one_of("auto", "cpu"),
    "data.eval_subset": optional(at_least(1)),
    "data.train_size": at_least(1),
    "data.test_size": at_least(1),
    "data.noise": in_range(0, 100),
    "data.color_jitter": in_range(0, 10),
    "data.lighting": in_range(0, 10),
    "data.mean_sample": at_least(1),
    "data.test_mode": one_of(*TEST_MODES),
    "data.test_scales": Rule("a non-empty list of image sizes >= 32, e.g. [224, 256, 384, 480, 640]",
                             lambda v: len(v) > 0 and all(_is_int(s) and s >= 32 for s in v)),
    "data.num_workers": either(one_of("auto"), at_least(0)),
    "data.pin_memory": AUTO_OR_BOOL,
    "optim.name": one_of("sgd"),
    "optim.lr": in_range(0, 10, lo_open=True),
    "optim.momentum": in_range(0, 1, hi_open=True),
    "optim.weight_decay": in_range(0, 1),
    "optim.schedule": one_of("multistep", "plateau"),
    "optim.milestones": Rule("increasing positive iteration numbers, e.g. [32000, 48000]",
                             lambda ms: all(m > 0 for m in ms) and list(ms) == sorted(set(ms))),
    "optim.gamma": in_range(0, 1, lo_open=True),
    "optim.plateau.patience": at_least(1),
    "optim.plateau.threshold": in_range(0, 100),
    "optim.warmup.enabled": AUTO_OR_BOOL,
    "optim.warmup.lr": in_range(0, 10, lo_open=True),
    "optim.warmup.until": one_of("error", "steps"),
    "optim.warmup.ramp": one_of("constant", "linear"),
    "optim.warmup.error_below": in_range(0, 100, lo_open=True),
    "optim.warmup.window": at_least(1),
    "optim.warmup.steps": at_least(1),
    "optim.implementation": one_of("auto", "foreach", "fused"),
    "trainer.accelerator": one_of("auto", "cpu", "gpu", "cuda", "mps"),
    "trainer.devices": either(one_of("auto"), at_least(1)),
    "trainer.num_nodes": at_least(1),
    "trainer.strategy": one_of("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_false",
                               "ddp_find_unused_parameters_true"),
    "trainer.sync_batchnorm": AUTO_OR_BOOL,
    "trainer.precision": one_of(*PRECISIONS),
    "trainer.max_steps": at_least(1),
    "trainer.eval_every": at_least(1),
    "trainer.log_every": at_least(1),
    "trainer.ckpt_every": at_least(1),
    "trainer.channels_last": AUTO_OR_BOOL,
    "trainer.compile_mode": one_of("default", "reduce-overhead", "max-autotune",
                                   "max-autotune-no-cudagraphs"),
    "trainer.progress": one_of("auto", "bar", "lines", "none"),
    "logger.mode": one_of("auto", "online", "offline", "disabled"),
    "responses.reduce": one_of("all", "channel"),
    "seed": at_least(0),
}

_ABSENT = object()


def _lookup(c: Mapping, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(c, Mapping) or part not in c:
            return _ABSENT
        c = c[part]
    return c


def check_values(c: Mapping) -> None:
    """Every option of ``c`` that has a rule (``c`` may be a whole config or ``{"model": ...}``)."""
    for option in RULES:
        value = _lookup(c, option)
        if value is not _ABSENT and not rule_of(option).ok(value):
            raise invalid(option, value, rule_of(option).valid)


def rule_of(option: str) -> Rule:
    rule = RULES[option]
    return rule if isinstance(rule, Rule) else rule()


def valid_values(option: str, group_option: str | None = None) -> str | None:
    """What a message lists as valid for ``option`` (of the group option named
    ``group_option``, where that matters); None where the type says it all."""
    if option == "model.depth" and group_option in DEPTHS:
        return DEPTHS[group_option].valid
    return rule_of(option).valid if option in RULES else None


def check_model(m: Mapping) -> None:
    """The depths each family has (CIFAR's bottleneck nets: 9n+2), no projection shortcuts and
    no zero-initialized residual branches in a plain net (nor in pre-activation units), and
    grouped 3x3s only in bottlenecks. ``m``: a complete model config."""
    family = family_of(m)
    depths = CIFAR_BOTTLENECK_DEPTHS if m.get("bottleneck") else DEPTHS[family]
    if not depths.ok(m["depth"]):
        raise invalid("model.depth", m["depth"], depths.valid)
    if not m["residual"] and m["shortcut"] != "A":
        # B/C would silently add projection layers that a "plain" net in the paper does not have
        raise invalid("model.shortcut", m["shortcut"],
                      "A with model.residual=false (plain nets have no shortcuts)")
    if m["zero_init_residual"] and not m["residual"]:
        # zero scales at the end of each plain unit would zero every unit's output: a constant net
        raise invalid("model.zero_init_residual", True,
                      "false with model.residual=false (plain nets have no identity path, so "
                      "zeroed units would make the output constant); true needs model.residual=true")
    if m["gate"] != "identity" and not m["residual"]:
        # a plain unit has no shortcut to stand in for its branch, nor to start as
        raise invalid("model.gate", m["gate"], "identity with model.residual=false (a plain unit "
                      "has no shortcut to fall back on)")
    if m["survival_last"] != 0.5 and m["gate"] != "stochastic_depth":
        raise invalid("model.survival_last", m["survival_last"],
                      "0.5 (its default) unless model.gate=stochastic_depth, whose p_L it is")
    if m["init"] == "fixup":
        for key, value, valid in (("norm", "none", "none with model.init=fixup (Fixup replaces "
                                   "normalisation; with BN use init=he)"),
                                  ("block", "original", "original with model.init=fixup (its "
                                   "branches are in the original order)"),
                                  ("residual", True, "true with model.init=fixup (it starts "
                                   "each branch at 0: a plain net would start constant)")):
            if m[key] != value:
                raise invalid(f"model.{key}", m[key], valid)
    if m["zero_init_residual"] and m["norm"] != "bn":
        raise invalid("model.zero_init_residual", True,
                      "false with model.norm=none (there is no BN scale to start at 0)")
    if m["zero_init_residual"] and m["block"] == "preact":
        raise invalid("model.zero_init_residual", True,
                      "false with model.block=preact (a pre-activation branch ends in a conv, not "
                      "a BN); true needs model.block=original")
    if not has_bottlenecks(family, m["depth"], m.get("bottleneck", False)):
        for key, plain in (("cardinality", 1), ("base_width", 64)):
            if m[key] != plain:
                raise invalid(f"model.{key}", m[key], f"{plain} {GROUPS_NEED}")
    planes = 64 if family == "imagenet" else 16 * m["width"]  # a first-stage bottleneck's planes
    if planes * m["base_width"] < 64:
        raise invalid("model.base_width", m["base_width"], f"at least {-(-64 // planes)} with "
                      f"{planes} planes at the first stage (a group needs a channel)")


def check_net(net: str | None, model: Mapping) -> None:
    """The ``net`` shorthand names a net of the model's family."""
    family = family_of(model)
    if net is not None and parse_net(net, family) is None:
        hint = NET_HINT if family == "cifar" else (
            "plain-<depth> or ResNet-<depth>[-A|-B|-C] with a depth of 18, 34, 50, 101, 152, a "
            "preact- prefix for pre-activation units, or ResNeXt-<depth>-<C>x<d>d; e.g. "
            "ResNet-34-C, preact-ResNet-152, ResNeXt-50-32x4d (WRN and width suffixes are CIFAR's)")
        raise invalid("net", net, hint + (" (model=imagenet)" if family == "imagenet" else ""))


def check_data(d: Mapping) -> None:
    """Limits that depend on the data set or on another data option."""
    ds = dataset_of(d)
    if "scale_range" in d:
        sr = d["scale_range"]
        if not (len(sr) == 2 and d["image_size"] <= sr[0] <= sr[1]):
            raise invalid("data.scale_range", sr, "[lo, hi] integers with image_size <= lo <= hi")
    if "val_resize" in d and d["val_resize"] < d["image_size"]:
        raise invalid("data.val_resize", d["val_resize"], f"at least data.image_size ({d['image_size']})")
    if "train_size" in d and d["train_size"] < d["batch_size"]:
        raise invalid("data.train_size", d["train_size"], f"at least data.batch_size ({d['batch_size']})")
    if ds.channels and d.get("channels") is not None and d["channels"] not in ds.channels:
        raise invalid("data.channels", d["channels"], f"{one_of(*ds.channels).valid} with data={ds.name}")
    if ds.train_images and d["val_size"] >= ds.train_images:
        n = ds.train_images
        raise invalid("data.val_size", d["val_size"], f"0 .. {n - 1} ({ds.title} has {n:,} training images)")


def check_callbacks(callbacks: Mapping) -> None:
    """Each callback is built from its ``_target_``; its other keys are the class's arguments.
    A null entry is a dropped one (``callbacks.progress=null``)."""
    for name, cb in callbacks.items():
        if cb is not None and not (isinstance(cb, Mapping) and isinstance(cb.get("_target_"), str)):
            raise invalid(f"callbacks.{name}", cb,
                          f"a callback config with a _target_ class, e.g. +callbacks.{name}._target_=pkg.Class")
        # EarlyStopping, ModelCheckpoint: a metric the module never logs would stop the run at
        # its first evaluation, after all the work before it
        if cb is not None and cb.get("monitor") is not None and cb["monitor"] not in ITERATION_SERIES:
            raise invalid(f"callbacks.{name}.monitor", cb["monitor"],
                          f"{', '.join(ITERATION_SERIES)} (what the module logs, metric_names.py)")


def check_together(c: Mapping) -> None:
    """Rules that tie groups together."""
    d, m, t = c["data"], c["model"], c["trainer"]
    if c["optim"]["schedule"] == "plateau" and d.get("val_size", 1) == 0:
        # the plateau rule reads the first evaluation set: without a validation split, the test set
        raise invalid("optim.schedule", "plateau",
                      "multistep when data.val_size=0 (plateau would choose the lr drops on the "
                      "test set, model selection on the test set), or keep a validation split "
                      "with data.val_size > 0")
    w = c["optim"]["warmup"]
    if w["ramp"] == "linear" and w["until"] != "steps":
        # the ramp's slope needs its length, which the error rule only knows when it ends
        raise invalid("optim.warmup.ramp", "linear",
                      "constant with optim.warmup.until=error (a linear ramp needs a known length: "
                      "use optim.warmup.until=steps with optim.warmup.steps)")
    classes = fact(d, "num_classes")
    if m["num_classes"] != classes:
        raise invalid("model.num_classes", m["num_classes"], f"{classes} (data.num_classes)")
    if dataset_of(d).name == "imagenet" and family_of(m) != "imagenet":
        raise invalid("model", family_of(m), "imagenet (data=imagenet needs model=imagenet)")
    if m.get("gate") == "stochastic_depth" and t["strategy"] in ("ddp", "ddp_spawn",
                                                                   "ddp_find_unused_parameters_false"):
        # a dropped branch's parameters get no gradient in that iteration; DDP must know it
        raise invalid("trainer.strategy", t["strategy"],
                      "ddp_find_unused_parameters_true with model.gate=stochastic_depth (a "
                      "dropped branch leaves its parameters without a gradient)")
    for name, cb in (c.get("callbacks") or {}).items():
        # the one series logged only when asked for: monitored without it, it never comes
        if cb is not None and cb.get("monitor") == GRAD_NORM and not t["log_grad_norm"]:
            raise invalid(f"callbacks.{name}.monitor", GRAD_NORM,
                          f"another series, or keep {GRAD_NORM} with trainer.log_grad_norm=true "
                          f"(it is logged only then)")
    world = (t["devices"] if _is_int(t["devices"]) else 1) * t["num_nodes"]
    if t["strategy"] != "auto" and d["batch_size"] % world:
        raise invalid("data.batch_size", d["batch_size"],
                      f"a multiple of the {world} processes (the global batch is split among them)")
