"""Net names, as the papers' legends write them: ``label`` writes a model config's name, ``parse_net``
reads one back (``net=`` on the command line). One table of name parts serves both directions.

A name is ``[prefix-]... kind [-suffix]...``:
- the kind: ``plain-56``, ``ResNet-110`` (He et al. 2015), ``WRN-28-10`` (Zagoruyko & Komodakis:
  its depth counts the three 1x1 projections, so it is model.depth + 2), ``ResNeXt-29-8x64d``
  (Xie et al.: cardinality x group width); ``plain-`` before WRN/ResNeXt names the plain twin;
- ``MARKS``, each a model field the kind leaves at another value: ``preact-`` / ``original-``
  units, ``-w4`` (CIFAR width), ``-basic`` / ``-bottleneck`` (CIFAR units: from 164 layers a
  9n+2 ResNet is named for its bottlenecks, as He et al. 2016 name theirs), ``-A`` / ``-B`` /
  ``-C`` (the shortcut, where not the kind's: A on CIFAR's basic ResNets, B elsewhere),
  ``-dropout0.3``.

What a name implies is left out of it, so ``label`` and ``parse_net`` are each other's inverse
for every net a family builds. A new model option gets a name by one ``Mark`` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .choices import family_of, has_bottlenecks
from .families import complete, defaults, options

NET_HINT = ("plain-<depth> or ResNet-<depth>[-A|-B|-C], with a preact- prefix for pre-activation "
            "units, or WRN-<6N+4>-<k>, ResNeXt-<depth>-<C>x<d>d, plain- before either for the plain "
            "twin; e.g. plain-56, ResNet-110, ResNet-34-C, preact-ResNet-164, WRN-28-10, "
            "ResNeXt-29-8x64d")


def cifar_bottleneck_by_name(depth: int) -> bool:
    """Whether a CIFAR ``ResNet-<depth>`` has bottleneck units: from 164 layers when the depth is
    9n+2, as He et al. 2016 name theirs (ResNet-110 and -1202 are basic, -164 and -1001 not)."""
    return depth >= 164 and (depth - 2) % 9 == 0


def implied_shortcut(family: str, bottleneck: bool, width: int) -> str:
    """The shortcut a residual net's name implies: A for CIFAR's basic ResNets of width 1 (the
    paper's), B for bottleneck, wide and ImageNet nets (their papers')."""
    return "A" if family == "cifar" and not bottleneck and width == 1 else "B"


# ---------------------------------------------------------------- the kind


@dataclass(frozen=True)
class Kind:
    """The core of a name and the fields it implies (``usual``: the unit order and CIFAR width
    the name stands for when no mark says otherwise)."""

    text: str
    usual: dict[str, Any]


def kind_of(m: Mapping[str, Any], family: str) -> Kind:
    grouped = m["cardinality"] > 1 or m["base_width"] != 64
    width = m.get("width", 1)
    bottleneck = has_bottlenecks(family, m["depth"], m.get("bottleneck", False))
    if grouped:
        return Kind(f"ResNeXt-{m['depth']}-{m['cardinality']}x{m['base_width']}d",
                    dict(block="original", width=4))
    if family == "cifar" and width > 1 and not bottleneck:
        return Kind(f"WRN-{m['depth'] + 2}-{width}", dict(block="preact", width=width))
    return Kind(f"ResNet-{m['depth']}", dict(block="original", width=1))


KIND = re.compile(r"(?P<plain>plain-)?(?:resnet-(?P<depth>\d+)|wrn-(?P<wrn>\d+)-(?P<k>\d+)"
                  r"|resnext-(?P<rx>\d+)-(?P<c>\d+)x(?P<d>\d+)d)", re.IGNORECASE)
PLAIN = re.compile(r"plain-(?P<depth>\d+)", re.IGNORECASE)


def _read_kind(s: str, family: str) -> tuple[dict[str, Any], str] | None:
    """The fields the kind at the start of ``s`` implies, and the rest of ``s``."""
    m = PLAIN.match(s)
    if m and not s[m.end():m.end() + 1].isalnum():  # plain-56, not plain-WRN-...
        depth = int(m["depth"])
        fields = dict(depth=depth, residual=False)
        if family == "cifar":
            fields["bottleneck"] = cifar_bottleneck_by_name(depth)
        return fields, s[m.end():]
    m = KIND.match(s)
    if not m or (m["plain"] and m["depth"]):  # plain-ResNet-56 is written plain-56
        return None
    fields: dict[str, Any] = dict(residual=not m["plain"])
    if m["depth"]:
        fields["depth"] = int(m["depth"])
        if family == "cifar":
            fields["bottleneck"] = cifar_bottleneck_by_name(fields["depth"])
    elif m["wrn"]:
        if family != "cifar" or (int(m["wrn"]) - 4) % 6:  # WRN-d-k: d = 6N+4, CIFAR only
            return None
        fields.update(depth=int(m["wrn"]) - 2, width=int(m["k"]), block="preact", bottleneck=False)
    else:
        fields.update(depth=int(m["rx"]), cardinality=int(m["c"]), base_width=int(m["d"]),
                      stride_in="3x3")  # ResNeXt strides the 3x3 (as torchvision's)
        if family == "cifar":
            fields.update(bottleneck=True, width=4)
    return fields, s[m.end():]


# ---------------------------------------------------------------- the marks


@dataclass(frozen=True)
class Mark:
    """A name part for model fields the kind leaves at another value: ``write`` gives its text
    for a complete model config (None: nothing to mark), ``pattern`` (a regex, case-insensitive)
    and ``read`` take it back to fields."""

    options: tuple[str, ...]  # the model options it names
    pattern: str
    write: Callable[[Mapping[str, Any], str, Kind], str | None]
    read: Callable[[re.Match], dict[str, Any]]
    prefix: bool = False
    families: tuple[str, ...] = ("cifar", "imagenet")


def _unit_mark(m, family, kind):
    if not kind.text.startswith("ResNet-") or m["bottleneck"] == cifar_bottleneck_by_name(m["depth"]):
        return None
    return "bottleneck" if m["bottleneck"] else "basic"


def _shortcut_mark(m, family, kind):
    bottleneck = has_bottlenecks(family, m["depth"], m.get("bottleneck", False))
    implied = implied_shortcut(family, bottleneck, m.get("width", 1))
    return m["shortcut"] if m["residual"] and m["shortcut"] != implied else None


def _scalar_gate_mark(m, family, kind):
    """A learnable scalar on each branch, from 0: ReZero (Bachlechner et al. 2020) with BN,
    SkipInit (De & Smith 2020) without."""
    return remedy(m) if m["gate"] == "rezero" else None


def _no_norm_mark(m, family, kind):
    """No normalisation, where the name does not say it already (Fixup, SkipInit)."""
    implied = m["init"] == "fixup" or m["gate"] == "rezero"
    return "noBN" if m["norm"] == "none" and not implied else None


def _stochastic_depth_mark(m, family, kind):
    """Huang et al.'s nets: ``-SD`` with their p_L of 0.5, ``-SD0.8`` with another."""
    if m["gate"] != "stochastic_depth":
        return None
    return "SD" if m["survival_last"] == 0.5 else f"SD{m['survival_last']:g}"


MARKS: tuple[Mark, ...] = (
    Mark(("block",), r"(?P<block>preact|original)", prefix=True,
         write=lambda m, f, k: m["block"] if m["block"] != k.usual["block"] else None,
         read=lambda g: dict(block=g["block"].lower())),
    Mark(("gate", "norm"), r"(?P<scalar>rezero|skipinit)", prefix=True, write=_scalar_gate_mark,
         read=lambda g: dict(gate="rezero", norm="bn" if g["scalar"].lower() == "rezero" else "none")),
    Mark(("init", "norm"), r"fixup", prefix=True,
         write=lambda m, f, k: "Fixup" if m["init"] == "fixup" else None,
         read=lambda g: dict(init="fixup", norm="none")),
    Mark(("width",), r"w(?P<w>\d+)", families=("cifar",),
         write=lambda m, f, k: f"w{m['width']}" if m["width"] != k.usual["width"] else None,
         read=lambda g: dict(width=int(g["w"]))),
    Mark(("bottleneck",), r"(?P<unit>basic|bottleneck)", families=("cifar",), write=_unit_mark,
         read=lambda g: dict(bottleneck=g["unit"].lower() == "bottleneck")),
    Mark(("shortcut",), r"(?P<sc>[abc])", write=_shortcut_mark,
         read=lambda g: dict(shortcut=g["sc"].upper())),
    Mark(("gate", "survival_last"), r"SD(?P<p>\d*\.?\d+)?", write=_stochastic_depth_mark,
         read=lambda g: dict(gate="stochastic_depth", **({"survival_last": float(g["p"])} if g["p"] else {}))),
    Mark(("norm",), r"nobn", write=_no_norm_mark, read=lambda g: dict(norm="none")),
    Mark(("dropout",), r"dropout(?P<p>\d*\.?\d+)", write=lambda m, f, k: f"dropout{m['dropout']:g}" if m["dropout"] else None,
         read=lambda g: dict(dropout=float(g["p"]))),
)


# The options a name's kind states (plain/ResNet, depth, WRN's width, ResNeXt's groups, CIFAR's units)
KIND_OPTIONS = ("residual", "depth", "width", "bottleneck", "cardinality", "base_width")
# The options of the 2015 paper's nets, whatever their value: the net and the choices it leaves
# open (He init's fan, option A's padding, BN scales, the strided 1x1/3x3, the data's channels)
PAPER_OPTIONS = ("depth", "residual", "shortcut", "num_classes", "in_channels", "init_mode",
                 "shortcut_pad", "zero_init_residual", "stride_in")


def named_options() -> frozenset[str]:
    """The model options a net's name states (the rest are switches beside the name)."""
    return frozenset(KIND_OPTIONS).union(*(mk.options for mk in MARKS))


def remedy(model: Mapping[str, Any]) -> str:
    """The remedy for degradation a net uses beyond shortcuts, in words ("" for none): its gate,
    its normalisation and its initialisation (gates, norms, init)."""
    m = complete(model)
    if m["gate"] == "stochastic_depth":
        return "stochastic depth"
    if m["init"] == "fixup":
        return "Fixup"
    if m["gate"] == "rezero":
        return "ReZero" if m["norm"] == "bn" else "SkipInit"
    return "no BN, He init" if m["norm"] == "none" else ""


def he2015(model: Mapping[str, Any]) -> bool:
    """Whether a model is of the 2015 paper's design: every option beyond ``PAPER_OPTIONS`` at
    its family's default (original units, CIFAR's basic units of width 1, no groups, no dropout;
    an option added later, at its default too)."""
    m, family = complete(model), family_of(model)
    return all(v == m[k] for k, v in defaults(family).items() if k not in PAPER_OPTIONS)


def label(model: Mapping[str, Any]) -> str:
    """The name of a model config (partial, or a record's: ``families.complete`` fills it)."""
    family = family_of(model)
    m = complete(model)
    kind = kind_of(m, family)
    name = kind.text if m["residual"] else f"plain-{kind.text}".replace("plain-ResNet-", "plain-")
    for mark in MARKS:
        text = mark.write(m, family, kind) if family in mark.families else None
        if text:
            name = f"{text}-{name}" if mark.prefix else f"{name}-{text}"
    return name


def parse_net(net: str, family: str = "cifar") -> dict[str, Any] | None:
    """The model fields a name sets in ``family`` (``plain-56``: depth 56, residual false;
    ``WRN-28-10``: depth 26, width 10, pre-activation, shortcut B), or None when ``net`` is not a
    name of that family's nets. The reverse of ``label``."""
    s, fields = str(net).strip(), {}
    marks = [mk for mk in MARKS if family in mk.families]
    while True:  # the prefixes
        found = next(((mk, g) for mk in marks if mk.prefix
                      and (g := re.match(rf"(?:{mk.pattern})-", s, re.IGNORECASE))), None)
        if found is None:
            break
        fields.update(found[0].read(found[1]))
        s = s[found[1].end():]
    kind = _read_kind(s, family)
    if kind is None:
        return None
    implied, rest = kind
    fields = {**implied, **fields}
    if rest and not rest.startswith("-"):
        return None
    for token in rest.split("-")[1:]:
        found = next(((mk, g) for mk in marks if not mk.prefix
                      and (g := re.fullmatch(mk.pattern, token, re.IGNORECASE))), None)
        if found is None:
            return None
        fields.update(found[0].read(found[1]))
    if not fields["residual"]:
        fields["shortcut"] = "A"  # a plain net has no shortcut; A adds no layers (same parameters)
    elif "shortcut" not in fields:
        fields["shortcut"] = implied_shortcut(family, fields.get("bottleneck", False), fields.get("width", 1))
    return {k: v for k, v in fields.items() if k in options(family)}
