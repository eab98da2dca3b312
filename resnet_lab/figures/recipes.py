"""Which runs may share an output: a run's recipe, duplicates among several sources, and where
the paper's numbers may stand beside ours.

A run is its net (the ``model`` config and the ``net`` shorthand), its seed, and its *recipe*:
every other key of its config that can change what it computes (``config.neutral.is_result``),
among the keys the schema declares (a W&B run's extra top-level fields, such as ``family`` or
``dataset``, only mirror those). A key that one run records and another does not counts as a
difference: a run from older code may have computed something else.

- Duplicates: the same net, seed and recipe found more than once (a study run in pieces whose
  sources overlap, or a sweep directory and the W&B group of the same runs). One is kept (a
  finished one, the longest, the first source given) and the others are named in the captions.
- One curve (a net's runs: its seeds) never mixes recipes; one output mixes them only when asked
  (``--mixed-recipes``), and its caption then names each run's recipe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from ..config.neutral import is_result
from ..config.schema import keys
from ..records import flatten
from .runs import FiguresError, Run

NET_KEYS = ("model", "net")  # what makes the net; `seed` makes the repeat
NOT_RECORDED = "not recorded"


@cache
def _declared() -> frozenset[str]:
    return frozenset(keys())


def _declared_key(key: str) -> bool:
    parts = key.split(".")
    return any(".".join(parts[:i]) in _declared() for i in range(1, len(parts) + 1))


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, Mapping):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _in(key: str, groups: Iterable[str]) -> bool:
    return any(key == g or key.startswith(g + ".") for g in groups)


def flat_config(r: Run) -> dict[str, Any]:
    """The run's config as dotted keys (``data.val_size``), values hashable (lists as tuples),
    and ``data.name``, its data set's name (the config names the data module that loads it), which
    the paper's recipes and ``--where`` use."""
    return {**{k: _hashable(v) for k, v in flatten(r.config).items()}, "data.name": r.data}


def recipe(r: Run) -> dict[str, Any]:
    """The result keys of the run's config that are not its net or its seed."""
    return {k: v for k, v in flat_config(r).items()
            if is_result(k) and _declared_key(k) and not _in(k, NET_KEYS) and k != "seed"}


def net_config(r: Run) -> tuple:
    """The run's model config; the fields that older records lack read as their defaults
    (``Run.model``)."""
    model = {f"model.{k}": _hashable(v) for k, v in r.model.items()}
    return tuple(sorted(model.items()))


def identity(r: Run) -> tuple:
    """Two runs with the same identity compute the same thing: a duplicate."""
    return net_config(r), r.seed, tuple(sorted(recipe(r).items()))


def run_name(r: Run) -> str:
    return f"{r.net} seed {r.seed}"


# ---------------------------------------------------------------- duplicates


def deduplicate(runs: Sequence[Run]) -> tuple[list[Run], list[tuple[Run, str]]]:
    """``runs`` with one run per (net, seed, recipe), and for each set of duplicates found the
    run kept and a sentence naming the others."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[identity(r)].append(r)
    kept, notes = [], []
    order = {id(r): i for i, r in enumerate(runs)}
    for group in groups.values():
        best = sorted(group, key=lambda r: (r.status != "done", -r.steps, order[id(r)]))
        kept.append(best[0])
        if len(group) > 1:
            others = "; ".join(f"{r.source} ({r.status})" for r in best[1:])
            notes.append((best[0], f"{run_name(best[0])} (same net, seed and recipe) is in {len(group)} "
                         f"sources: used {best[0].source} ({best[0].status}, {best[0].steps} "
                         f"iterations), left out {others}."))
    kept.sort(key=lambda r: order[id(r)])
    return kept, notes


# ---------------------------------------------------------------- recipes in one output


def differences(runs: Sequence[Run]) -> dict[str, dict[Any, list[Run]]]:
    """The recipe keys whose values differ among ``runs``: key -> value -> runs."""
    recipes = [(r, recipe(r)) for r in runs]
    all_keys = sorted({k for _, rec in recipes for k in rec})
    out = {}
    for k in all_keys:
        by_value: dict[Any, list[Run]] = defaultdict(list)
        for r, rec in recipes:
            by_value[rec.get(k, NOT_RECORDED)].append(r)
        if len(by_value) > 1:
            out[k] = dict(by_value)
    return out


def _value(v: Any) -> str:
    return str(list(v)) if isinstance(v, tuple) else str(v)


def describe(diff: Mapping[str, Mapping[Any, list[Run]]], max_keys: int = 4, max_runs: int = 4) -> str:
    """``data.val_size: 0 for ResNet-20 seed 0, ...; 5000 for ResNet-56 seed 0`` (a few keys)."""
    parts = []
    for k, by_value in list(diff.items())[:max_keys]:
        values = []
        for v, rs in by_value.items():
            names = ", ".join(run_name(r) for r in rs[:max_runs]) + (", ..." if len(rs) > max_runs else "")
            values.append(f"{_value(v)} for {names}")
        parts.append(f"{k}: {'; '.join(values)}")
    more = f" (and {len(diff) - max_keys} more keys)" if len(diff) > max_keys else ""
    return " | ".join(parts) + more


def _where_hint(diff: Mapping[str, Mapping[Any, list[Run]]]) -> str:
    key, by_value = next(iter(diff.items()))
    value = next((v for v in by_value if v != NOT_RECORDED), None)
    return f"--where {key}={_value(value)}" if value is not None else "--where KEY=VALUE"


def check_recipes(name: str, runs: Sequence[Run], mixed: bool = False) -> list[str]:
    """Refuse ``runs`` for output ``name`` when one net's runs (one curve, one table row) have
    different recipes or net configs, or, unless ``mixed``, when the output's runs do. Returns
    the caption's notes on mixed recipes (none when all share one)."""
    by_net: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        by_net[r.key].append(r)
    for group in by_net.values():
        nets = {net_config(r) for r in group}
        diff = differences(group)
        if len(nets) > 1:
            raise FiguresError(f"{name}: the runs of {group[0].net} are different nets (model "
                               f"configs differ: {', '.join(r.source for r in group)}); keep one "
                               f"with --where model.KEY=VALUE")
        if diff:
            raise FiguresError(f"{name}: the runs of {group[0].net} have different recipes and "
                               f"would be mixed in one curve or row ({describe(diff)}); keep one "
                               f"with {_where_hint(diff)}")
    diff = differences(runs)
    if not diff:
        return []
    if not mixed:
        raise FiguresError(f"{name}: the runs have different recipes ({describe(diff)}); draw one "
                           f"with {_where_hint(diff)}, or all together with --mixed-recipes (the "
                           f"caption then names each run's recipe)")
    return [f"Mixed recipes (--mixed-recipes): the runs differ in {describe(diff, 20, 50)}."]


# ---------------------------------------------------------------- selecting runs, the paper's recipe


def parse_where(items: Iterable[str]) -> dict[str, Any]:
    """``--where KEY=VALUE`` options as {key: value}, VALUE read as YAML (0, true, [1, 2])."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FiguresError(f"--where {item}: give KEY=VALUE, e.g. --where data.val_size=0")
        out[key.strip()] = _hashable(yaml.safe_load(value))
    return out


def matches(r: Run, where: Mapping[str, Any]) -> bool:
    c = flat_config(r)
    return all(c.get(k, NOT_RECORDED) == v for k, v in where.items())


def paper_mismatches(r: Run, paper_recipe: Mapping[str, Any]) -> list[str]:
    """Where the run's config differs from the recipe of the paper's numbers: ``key=ours
    (paper: theirs)`` for each key; empty when the paper's numbers may stand beside ours."""
    c = flat_config(r)
    out = []
    for k, theirs in paper_recipe.items():
        ours = c.get(k, NOT_RECORDED)
        if ours != _hashable(theirs):
            out.append(f"{k}={_value(ours)} (paper: {_value(_hashable(theirs))})")
    return out
