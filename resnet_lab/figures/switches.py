"""The ``switches`` table: the runs of an ablation sweep side by side, each with the config keys
("switches") in which it differs from the sweep's other runs, its final errors and the early peak
of its training loss (which of the paper's open choices removes ResNet-56's early loss spike).

A switch is a result key (``config.neutral.is_result``) whose value differs among the runs,
other than the keys the net column names (depth, plain/residual, shortcut option, units: the
parameters of ``models.build.label``), the ``net`` shorthand and the seed. Model keys are read
as ``recipes.net_config`` reads them (older records' missing fields as the paper's), the others
as ``recipes.recipe`` does; a key one run records and another does not is a difference.

Each key's reference value is the schema's default where it declares one and a run has it (the
model's fields: the paper's choices), else the value most runs have (a one-at-a-time ablation
flips each switch in few runs); a key with neither has no reference and every run names its
value. A key that follows another by
interpolation in conf/ (``model.in_channels: ${data.channels}``) and equals it in every run is
named once, as the key it follows.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..metric_names import TEST_ERROR, TRAIN_ERROR, TRAIN_LOSS
from ..models.families import defaults
from ..models.naming import named_options
from ..records import flatten
from .recipes import NOT_RECORDED, net_config, recipe, run_name
from .runs import Run
from .tables import _with_data, params, r2

LOSS = TRAIN_LOSS  # the early peak is read from it
EARLY = 50  # the early loss peak: the first EARLY iterations
DEFAULTS = "paper defaults"  # the switches cell of a run with none
# the keys the net column names: the options its name states, and the `net` shorthand that sets them
NET_KEYS = frozenset({"net", "model._target_", *(f"model.{p}" for p in named_options())})
COLUMNS = ["net", "switches", "seed", "status", "params", "test_error", "train_error",
           "early_peak_loss", "early_peak_at", "steps"]
# ${data.channels}, and ${dataset:channels}: the data config's value where it has the key
_INTERPOLATION = re.compile(r"^\$\{(?:([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)|dataset:(\w+))\}$")


def value_text(v: Any) -> str:
    """A value as an override on the command line spells it: ``true``, ``null``, ``[1, 2]``."""
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "null"
    if isinstance(v, tuple):
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    return str(v)


def settings(r: Run) -> dict[str, Any]:
    """The run's result keys that may be switches: model keys (``net_config``) and its recipe,
    without the keys of its net label and its seed."""
    out = {**dict(net_config(r)), **recipe(r)}
    return {k: v for k, v in out.items() if k not in NET_KEYS}


@cache
def follows() -> dict[str, str]:
    """Keys whose value in conf/ is another key, by plain interpolation:
    ``{"model.in_channels": "data.channels", ...}``."""
    import yaml

    from ..compose import CONF_DIR

    out: dict[str, str] = {}
    for group in sorted(p for p in CONF_DIR.iterdir() if p.is_dir()):
        for f in sorted(group.glob("*.yaml")):
            try:
                node = yaml.safe_load(f.read_text())
            except yaml.YAMLError:
                continue
            if not isinstance(node, dict) or group.name in ("experiment", "hydra"):
                continue
            for k, v in flatten(node).items():
                if isinstance(v, str) and (m := _INTERPOLATION.match(v)):
                    out.setdefault(f"{group.name}.{k}", m.group(1) or f"data.{m.group(2)}")
    return out


_NONE = object()


def _schema_default(key: str, runs: Sequence[Run]) -> Any:
    """The family's default of a model key for these runs (its signature's: the paper's choice),
    else ``_NONE`` (other groups' defaults are in their YAML options)."""
    group, _, name = key.partition(".")
    if group != "model" or "." in name:
        return _NONE
    found = set()
    for family in {r.family for r in runs}:
        family_defaults = defaults(family)
        if name not in family_defaults:
            return _NONE
        found.add(family_defaults[name])
    return found.pop() if len(found) == 1 else _NONE


@dataclass
class Switches:
    keys: list[str]  # the switches, as named in the table
    reference: dict[str, Any]  # key -> the value a switch is measured against (absent: none)
    named_as: dict[str, str]  # key -> the switch it follows and equals in every run
    cells: dict[int, list[str]]  # id(run) -> ["key=value", ...]

    def of(self, r: Run) -> str:
        return ", ".join(self.cells[id(r)]) or DEFAULTS


def find_switches(runs: Sequence[Run]) -> Switches:
    configs = [(r, settings(r)) for r in runs]
    every = sorted({k for _, c in configs for k in c})
    varying = [k for k in every if len({c.get(k, NOT_RECORDED) for _, c in configs}) > 1]
    named_as = {}
    for k in varying:
        s = follows().get(k)
        if s in varying and all(c.get(k, NOT_RECORDED) == c.get(s, NOT_RECORDED) for _, c in configs):
            named_as[k] = s
    keys = [k for k in varying if k not in named_as]
    reference = {}
    for k in keys:
        counts = Counter(c.get(k, NOT_RECORDED) for _, c in configs)
        top = max(counts.values())
        modal = [v for v, n in counts.items() if n == top]
        default = _schema_default(k, runs)
        if default is not _NONE and default in counts:
            reference[k] = default
        elif len(modal) == 1:
            reference[k] = modal[0]
    cells = {id(r): [f"{k}={value_text(c.get(k, NOT_RECORDED))}" for k in keys
                     if k not in reference or c.get(k, NOT_RECORDED) != reference[k]]
             for r, c in configs}
    return Switches(keys, reference, named_as, cells)


def early_peak(r: Run, window: int = EARLY) -> tuple[float | None, int | None]:
    """The largest ``train/loss`` point at iterations 1..window and its iteration (the first,
    on a tie); (None, None) where the run logged none there."""
    points = [(s, v) for s, v in r.metrics.get(LOSS, []) if s <= window]
    if not points:
        return None, None
    step, value = max(points, key=lambda p: (p[1], -p[0]))
    return value, step


def run_order(r: Run, cell: str) -> tuple:
    """An ablation's runs in order (``cell``: the run's switches, ``Switches.of``): by net (not
    Run.key, which holds the switches themselves), then the defaults first."""
    return r.data, r.family, r.residual, r.depth, r.net, cell != DEFAULTS, cell, r.seed, r.source


def switch_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per run: its net, its switches, final test and training error (unfinished runs:
    their last logged values), the early peak of its training loss, its iterations."""
    sw = find_switches(runs)
    rows = []
    for r in sorted(runs, key=lambda r: run_order(r, sw.of(r))):
        peak, at = early_peak(r)
        rows.append(dict(
            data=r.data, net=r.net, switches=sw.of(r), seed=r.seed, status=r.status,
            params=params(r), test_error=r2(r.final(TEST_ERROR)),
            train_error=r2(r.final(TRAIN_ERROR)),
            early_peak_loss=None if peak is None else round(peak, 4), early_peak_at=at,
            steps=r.steps))
    return rows, _with_data(rows, COLUMNS)


# ---------------------------------------------------------------- the caption


def _by(runs: Sequence[Run], value, name) -> str:
    """``5 (every run)``, or ``5 for ResNet-56 seed 0 (paper defaults), ...; 10 for ...``."""
    groups: dict[Any, list[Run]] = defaultdict(list)
    for r in runs:
        groups[value(r)].append(r)
    if len(groups) == 1:
        return f"{next(iter(groups))} (every run)"
    return "; ".join(f"{v} for {', '.join(name(r) for r in rs)}" for v, rs in groups.items())


def _log_every(r: Run) -> Any:
    return (r.config.get("trainer") or {}).get("log_every", NOT_RECORDED)


def switch_lines(runs: Sequence[Run]) -> list[str]:
    """What the switches are, whether each was measured one at a time against the defaults,
    the runs' iterations, and what the early peak of the loss is."""
    sw = find_switches(runs)
    runs = sorted(runs, key=lambda r: run_order(r, sw.of(r)))

    def name(r: Run) -> str:
        return f"{run_name(r)} ({sw.of(r)})"

    lines = []
    if sw.keys:
        lines.append(
            f"- Switches: the result-changing config keys whose values differ among these runs, "
            f"other than the net's own (the net column) and the seed: "
            f"{', '.join(sw.keys)}. A row names those where its run's value differs from the "
            f"schema's default (the model's keys: the paper's choices), for keys without one "
            f"from the value most runs have; `{DEFAULTS}`: none.")
    else:
        lines.append(f"- Switches: none; the runs differ in their nets and seeds only (`{DEFAULTS}`).")
    for k in sw.keys:
        if k not in sw.reference:
            lines.append(f"- {k}: no default in the schema and as many runs with each value: "
                         f"every run names its value.")
    for k, s in sw.named_as.items():
        lines.append(f"- {k} follows {s} (`${{{s}}}` in conf/) and equals it in every run: named "
                     f"as {s}.")
    by_net: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        by_net[r.net].append(r)
    several = [r for r in runs if len(sw.cells[id(r)]) > 1]
    no_defaults = [n for n, rs in by_net.items()
                   if any(sw.cells[id(r)] for r in rs) and not any(not sw.cells[id(r)] for r in rs)]
    if sw.keys and not several and not no_defaults:
        lines.append(f"- Each switch was measured one at a time against the paper's defaults: "
                     f"every run differs from its net's `{DEFAULTS}` run in at most one switch.")
    elif sw.keys:
        why = [f"{name(r)} differs in {len(sw.cells[id(r)])} switches at once" for r in several]
        why += [f"{n} has no `{DEFAULTS}` run" for n in no_defaults]
        lines.append(f"- Not one switch at a time against the defaults: {'; '.join(why)}.")
    lines.append(f"- Iterations (steps): {_by(runs, lambda r: r.steps, name)}.")
    every = _by(runs, _log_every, name)
    lines.append(
        f"- early_peak_loss: the largest {LOSS} point at iterations 1 to {EARLY}, early_peak_at "
        f"its iteration (blank: no point there). {LOSS} is logged as the mean loss of the last "
        f"trainer.log_every iterations, here {every}: a spike of a single iteration reads up to "
        f"log_every times lower, and early_peak_at is the last iteration of the window holding it.")
    return lines
