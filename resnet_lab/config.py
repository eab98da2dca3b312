"""Config resolvers and validation: every value is checked before any work starts.

``validate(cfg)`` returns nothing and raises ``ConfigError`` with one sentence naming the option
and its valid values. Each config group has a fixed set of keys; an unknown one is reported
with the nearest valid name.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, invalid, unknown_keys
from .models.build import label, validate_model_cfg

NET_PATTERN = re.compile(r"^(plain|resnet)-(\d+)(?:-([ABC]))?$", re.IGNORECASE)
NET_HINT = "plain-<depth> or ResNet-<depth>[-A|-B|-C], e.g. plain-56, ResNet-110, ResNet-34-C"


def parse_net(net: str) -> dict[str, Any] | None:
    """``plain-56`` -> depth 56, residual false; ``ResNet-34-C`` -> also shortcut C. None if
    ``net`` is not of that form."""
    m = NET_PATTERN.match(str(net).strip())
    if not m:
        return None
    residual = m.group(1).lower() == "resnet"
    out: dict[str, Any] = {"depth": int(m.group(2)), "residual": residual}
    if m.group(3):
        out["shortcut"] = m.group(3).upper()
    elif not residual:
        out["shortcut"] = "A"  # a plain net has no shortcut; A adds no layers (same parameters)
    return out


def from_net(net: Any, field: str, default: Any) -> Any:
    """Resolver: a model field from the ``net`` shorthand, or ``default`` when net is unset.
    An unreadable ``net`` gives the default too; ``validate`` then reports it."""
    if net is None:
        return default
    parsed = parse_net(net) or {}
    return parsed.get(field, default)


def register_resolvers() -> None:
    """``${label:family,depth,residual,shortcut}``: a run's legend name (see ``label``);
    ``${from_net:${net},field,default}``: a model field from the ``net`` shorthand."""
    if not OmegaConf.has_resolver("label"):
        OmegaConf.register_new_resolver("label", label)
    if not OmegaConf.has_resolver("from_net"):
        OmegaConf.register_new_resolver("from_net", from_net)


register_resolvers()


# --------------------------------------------------------------------------- helpers

def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_keys(group: str, section: Mapping, known: set[str]) -> None:
    err = unknown_keys(group, section.keys(), known)
    if err:
        raise err


def _positive_int(option: str, v: Any, allow_zero: bool = False) -> None:
    lo = 0 if allow_zero else 1
    if not _is_int(v) or v < lo:
        raise invalid(option, v, f"an integer >= {lo}")


def _number_in(option: str, v: Any, lo: float, hi: float, lo_open=False, hi_open=False) -> None:
    ok = _is_number(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise invalid(option, v, f"a number in {lb}{lo}, {hi}{rb}")


def _choice(option: str, v: Any, choices) -> None:
    if v not in choices:
        raise invalid(option, v, choices)


# --------------------------------------------------------------------------- groups

DATA_COMMON = {"name", "num_classes", "channels", "image_size", "batch_size", "eval_batch_size",
               "normalize"}
IN_MEMORY = DATA_COMMON | {"val_size", "split_seed", "augment", "device", "eval_subset"}
DATA_KEYS = {
    "cifar10": IN_MEMORY | {"root", "download"},
    "fashion_mnist": IN_MEMORY | {"root", "download", "system_dirs"},
    "synthetic": IN_MEMORY | {"seed", "train_size", "test_size", "noise"},
    "imagenet": DATA_COMMON | {"root", "scale_range", "val_resize", "color_jitter", "lighting",
                               "num_workers", "pin_memory"},
}
NORMALIZE = ("per_pixel_mean", "per_channel")


def validate_data(d: Mapping) -> None:
    name = d.get("name")
    _choice("data.name", name, tuple(DATA_KEYS))
    _check_keys("data", d, DATA_KEYS[name])
    _positive_int("data.batch_size", d["batch_size"])
    _positive_int("data.eval_batch_size", d["eval_batch_size"])
    _positive_int("data.num_classes", d["num_classes"])
    _choice("data.normalize", d["normalize"], NORMALIZE)
    if name == "imagenet":
        sr = d["scale_range"]
        if not (len(sr) == 2 and all(_is_int(s) for s in sr) and d["image_size"] <= sr[0] <= sr[1]):
            raise invalid("data.scale_range", list(sr), "[lo, hi] integers with image_size <= lo <= hi")
        for key in ("color_jitter", "lighting"):
            _number_in(f"data.{key}", d[key], 0, 10)
        if d["num_workers"] != "auto":
            _positive_int("data.num_workers", d["num_workers"], allow_zero=True)
        _choice("data.pin_memory", d["pin_memory"], ("auto", True, False))
        return
    _positive_int("data.val_size", d["val_size"], allow_zero=True)
    aug = d["augment"]
    _check_keys("data.augment", aug, {"enabled", "pad", "flip"})
    _choice("data.augment.enabled", aug["enabled"], (True, False))
    _choice("data.augment.flip", aug["flip"], (True, False))
    _positive_int("data.augment.pad", aug["pad"], allow_zero=True)
    _choice("data.device", d["device"], ("auto", "cpu"))
    if d["eval_subset"] is not None:
        _positive_int("data.eval_subset", d["eval_subset"])
    if name == "synthetic":
        _positive_int("data.train_size", d["train_size"])
        _positive_int("data.test_size", d["test_size"])
        _number_in("data.noise", d["noise"], 0, 100)
        if d["train_size"] < d["batch_size"]:
            raise invalid("data.train_size", d["train_size"], f"at least data.batch_size ({d['batch_size']})")
    if name == "cifar10" and d["val_size"] >= 50000:
        raise invalid("data.val_size", d["val_size"], "0 .. 49999 (CIFAR-10 has 50,000 training images)")
    if name == "fashion_mnist" and d["val_size"] >= 60000:
        raise invalid("data.val_size", d["val_size"], "0 .. 59999 (Fashion-MNIST has 60,000 training images)")


OPTIM_KEYS = {"name", "lr", "momentum", "nesterov", "weight_decay", "decay_bn_and_bias", "schedule",
              "milestones", "gamma", "plateau", "warmup", "implementation"}
WARMUP_KEYS = {"enabled", "lr", "until", "error_below", "window", "steps"}


def validate_optim(o: Mapping) -> None:
    _check_keys("optim", o, OPTIM_KEYS)
    _choice("optim.name", o["name"], ("sgd",))
    _number_in("optim.lr", o["lr"], 0, 10, lo_open=True)
    _number_in("optim.momentum", o["momentum"], 0, 1, hi_open=True)
    _choice("optim.nesterov", o["nesterov"], (True, False))
    _number_in("optim.weight_decay", o["weight_decay"], 0, 1)
    _choice("optim.decay_bn_and_bias", o["decay_bn_and_bias"], (True, False))
    _choice("optim.schedule", o["schedule"], ("multistep", "plateau"))
    ms = list(o["milestones"])
    if not all(_is_int(m) and m > 0 for m in ms) or ms != sorted(set(ms)):
        raise invalid("optim.milestones", ms, "increasing positive iteration numbers, e.g. [32000, 48000]")
    _number_in("optim.gamma", o["gamma"], 0, 1, lo_open=True)
    _check_keys("optim.plateau", o["plateau"], {"patience", "threshold"})
    _positive_int("optim.plateau.patience", o["plateau"]["patience"])
    _number_in("optim.plateau.threshold", o["plateau"]["threshold"], 0, 100)
    w = o["warmup"]
    _check_keys("optim.warmup", w, WARMUP_KEYS)
    _choice("optim.warmup.enabled", w["enabled"], ("auto", True, False))
    _number_in("optim.warmup.lr", w["lr"], 0, 10, lo_open=True)
    _choice("optim.warmup.until", w["until"], ("error", "steps"))
    _number_in("optim.warmup.error_below", w["error_below"], 0, 100, lo_open=True)
    _positive_int("optim.warmup.window", w["window"])
    _positive_int("optim.warmup.steps", w["steps"])
    _choice("optim.implementation", o["implementation"], ("auto", "foreach", "fused"))


TRAINER_KEYS = {"accelerator", "devices", "num_nodes", "strategy", "sync_batchnorm", "precision",
                "max_steps", "eval_every", "log_every", "ckpt_every", "deterministic",
                "channels_last", "compile", "compile_mode", "progress"}
PRECISIONS = ("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "64-true")


def validate_trainer(t: Mapping) -> None:
    _check_keys("trainer", t, TRAINER_KEYS)
    _choice("trainer.accelerator", t["accelerator"], ("auto", "cpu", "gpu", "cuda", "mps"))
    if not (t["devices"] == "auto" or (_is_int(t["devices"]) and t["devices"] >= 1)):
        raise invalid("trainer.devices", t["devices"], "auto or an integer >= 1")
    _positive_int("trainer.num_nodes", t["num_nodes"])
    _choice("trainer.strategy", t["strategy"], ("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_false"))
    _choice("trainer.sync_batchnorm", t["sync_batchnorm"], ("auto", True, False))
    _choice("trainer.precision", str(t["precision"]), PRECISIONS)
    for key in ("max_steps", "eval_every", "log_every", "ckpt_every"):
        _positive_int(f"trainer.{key}", t[key])
    _choice("trainer.deterministic", t["deterministic"], (True, False))
    _choice("trainer.channels_last", t["channels_last"], ("auto", True, False))
    _choice("trainer.compile", t["compile"], (True, False))
    _choice("trainer.compile_mode", t["compile_mode"],
            ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"))
    _choice("trainer.progress", t["progress"], ("auto", "bar", "lines", "none"))


LOGGER_KEYS = {"wandb": {"name", "project", "entity", "mode"}, "csv": {"name"}, "none": {"name"}}


def validate_logger(lg: Mapping) -> None:
    _choice("logger.name", lg.get("name"), tuple(LOGGER_KEYS))
    _check_keys("logger", lg, LOGGER_KEYS[lg["name"]])
    if lg["name"] == "wandb":
        _choice("logger.mode", lg["mode"], ("auto", "online", "offline", "disabled"))


TOP_KEYS = {"model", "data", "optim", "trainer", "logger", "paths", "seed", "study", "run_name",
            "tags", "ckpt_path", "responses", "net"}
RESPONSE_KEYS = {"enabled", "reduce", "at_checkpoints"}


def validate(cfg: DictConfig | Mapping) -> None:
    """Validate a composed config (the ``hydra`` node, if present, is ignored)."""
    c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    c.pop("hydra", None)
    _check_keys("config", c, TOP_KEYS)
    for group in ("model", "data", "optim", "trainer", "logger"):
        if not isinstance(c.get(group), Mapping):
            raise ConfigError(f"config group {group!r} is missing; pick one with {group}=<option>.")
    validate_model_cfg(c["model"])
    validate_data(c["data"])
    validate_optim(c["optim"])
    validate_trainer(c["trainer"])
    validate_logger(c["logger"])
    if c.get("net") is not None and parse_net(c["net"]) is None:
        raise invalid("net", c["net"], NET_HINT)
    r = c["responses"]
    _check_keys("responses", r, RESPONSE_KEYS)
    _choice("responses.enabled", r["enabled"], (True, False))
    _choice("responses.reduce", r["reduce"], ("all", "channel"))
    _choice("responses.at_checkpoints", r["at_checkpoints"], (True, False))
    if not _is_int(c["seed"]) or c["seed"] < 0:
        raise invalid("seed", c["seed"], "an integer >= 0")
    d, m, t = c["data"], c["model"], c["trainer"]
    if m["num_classes"] != d["num_classes"]:
        raise invalid("model.num_classes", m["num_classes"], f"{d['num_classes']} (data.num_classes)")
    if d["name"] == "imagenet" and m["family"] != "imagenet":
        raise invalid("model", m["family"], "imagenet (data=imagenet needs model=imagenet)")
    n_dev = t["devices"] if _is_int(t["devices"]) else 1
    world = n_dev * t["num_nodes"]
    if t["strategy"] != "auto" and d["batch_size"] % world:
        raise invalid("data.batch_size", d["batch_size"], f"a multiple of the {world} processes (the global batch is split among them)")
