"""The resolvers conf/ uses, registered by ``register()`` (never as an import side effect):
``${label:family,depth,residual,shortcut}`` names a run (``run_name``; the model's other fields,
block, width, ..., are read from the config's ``model``), ``${from_net:field}`` reads a model
field from the top-level ``net`` shorthand."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..models.build import ARCH_DEFAULTS, cifar_bottleneck_by_name, label
from .schema import option_schema

# The legend names ``label`` writes, read back: [preact-|original-] then plain-<depth>,
# ResNet-<depth>, [plain-]WRN-<6N+4>-<k> or [plain-]ResNeXt-<depth>-<C>x<d>d, then suffixes.
NET_PATTERN = re.compile(
    r"^(?:(?P<block>preact|original)-)?"
    r"(?:(?P<kind>plain|resnet)-(?P<depth>\d+)"
    r"|(?P<plain>plain-)?(?:wrn-(?P<wrn>\d+)-(?P<k>\d+)|resnext-(?P<rx>\d+)-(?P<c>\d+)x(?P<d>\d+)d))"
    r"(?P<suffixes>(?:-(?:basic|bottleneck|w\d+|dropout\d*\.?\d+|[abc]))*)$", re.IGNORECASE)
NET_HINT = ("plain-<depth> or ResNet-<depth>[-A|-B|-C], with a preact- prefix for pre-activation "
            "units, or WRN-<6N+4>-<k>, ResNeXt-<depth>-<C>x<d>d, plain- before either for the plain "
            "twin; e.g. plain-56, ResNet-110, ResNet-34-C, preact-ResNet-164, WRN-28-10, "
            "ResNeXt-29-8x64d")


def parse_net(net: str) -> dict[str, Any] | None:
    """``plain-56`` -> depth 56, residual false; ``ResNet-34-C`` -> also shortcut C;
    ``preact-ResNet-164`` -> block preact, bottleneck units (shortcut B); ``WRN-28-10`` ->
    depth 26, width 10, pre-activation, shortcut B; ``ResNeXt-29-8x64d`` -> bottlenecks of
    cardinality 8 and base width 64 (CIFAR: width 4, the 3x3 strided). The reverse of ``label``.
    None if ``net`` is not of that form."""
    m = NET_PATTERN.match(str(net).strip())
    if not m or (m["wrn"] and (int(m["wrn"]) - 4) % 6):
        return None
    out: dict[str, Any] = dict(ARCH_DEFAULTS)
    if m["kind"]:
        out.update(depth=int(m["depth"]), residual=m["kind"].lower() == "resnet",
                   bottleneck=cifar_bottleneck_by_name(int(m["depth"])))
    elif m["wrn"]:
        out.update(depth=int(m["wrn"]) - 2, residual=not m["plain"], width=int(m["k"]),
                   block="preact")
    else:
        out.update(depth=int(m["rx"]), residual=not m["plain"], bottleneck=True, width=4,
                   cardinality=int(m["c"]), base_width=int(m["d"]), stride_in="3x3")
    if m["block"]:
        out["block"] = m["block"].lower()
    for suffix in filter(None, m["suffixes"].lower().split("-")):
        if suffix in ("basic", "bottleneck"):
            out["bottleneck"] = suffix == "bottleneck"
        elif suffix.startswith("w"):
            out["width"] = int(suffix[1:])
        elif suffix.startswith("dropout"):
            out["dropout"] = float(suffix[len("dropout"):])
        else:
            out["shortcut"] = suffix.upper()
    if not out["residual"]:
        out["shortcut"] = "A"  # a plain net has no shortcut; A adds no layers (same parameters)
    elif "shortcut" not in out and (out["bottleneck"] or out["width"] > 1):
        out["shortcut"] = "B"  # the papers' bottleneck and wide nets project where the shape changes
    return out


def run_label(family: str, depth: int, residual: bool, shortcut: str, *, _root_: DictConfig) -> str:
    """``label`` of the run's model: the fields given, the others from the config's ``model``."""
    model = _root_.model
    return label(family, depth, residual, shortcut,
                 **{k: model[k] for k in ARCH_DEFAULTS if k in model})


def from_net(field: str, *, _parent_: DictConfig, _root_: DictConfig) -> Any:
    """A model field from ``net`` (``plain-56``: depth 56, residual false), else the model
    option's default (schema.py). An unreadable ``net`` gives the default too; ``validate``
    then reports it."""
    parsed = parse_net(_root_.net) if _root_.net is not None else None
    if parsed and field in parsed:
        return parsed[field]
    return getattr(option_schema("model", _parent_)(), field)


def register_resolvers() -> None:
    for name, resolver in (("label", run_label), ("from_net", from_net)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
