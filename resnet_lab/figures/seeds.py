"""A net's seeds as one line, one band and one table cell: the one home of the statistics over
seeds that the figures and tables show. The seeds of a net are its runs of one ``Run.key``.

    averaged   the runs a curve figure draws: each net's finished seeds, else its unfinished ones
    by_net     runs grouped into nets, plain before residual and by depth, each net's seeds in order
    band       a series over a net's seeds: the mean at each iteration and the min-max band
    stats      final numbers over seeds: how many, mean, sample std, best; ``text`` as Table 6

Choices:
- Iterations: a line has a point at the iterations that every seed it averages logged (the
  intersection of their steps), so each point is the mean of the same seeds and the band's
  width changes with the seeds, never with how many of them reached a point. A mean over
  whichever seeds reached each iteration would jump where one of them stopped, which reads as a
  change in training. Nothing is lost for finished seeds: the seeds of one net in one output
  share their recipe (``recipes.check_recipes``; ``trainer.max_steps``, ``log_every`` and
  ``eval_every`` are result keys), so they logged the same iterations. Unfinished seeds (drawn
  only for a net with no finished one) are drawn as far as the shortest of them got.
- Band: from the seeds' minimum to their maximum at each iteration, not mean ± std: with the
  two to five seeds a study trains, a sample std is itself uncertain and a std band can hide
  a seed outside it, while min-max shows where every seed went. The W&B dashboards draw the
  same band (``dashboard.spec.line``: mean with W&B's ``minmax`` range). One seed: no band.
- Final numbers: mean and sample std (n - 1) over the finished seeds, best = the lowest error,
  written as the paper's Table 6 writes ResNet-110: ``6.43 (6.61 ± 0.16)``, best first, then
  mean ± std in brackets.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from .runs import Run

BAND = "the seeds' minimum to maximum"  # the band in words, for the captions and footers


def by_net(runs: Iterable[Run]) -> list[list[Run]]:
    """The runs grouped into nets (``Run.key``: plain before residual, by depth), each net's
    seeds by seed."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.key].append(r)
    return [sorted(group, key=lambda r: (r.seed, r.source)) for _, group in sorted(groups.items())]


def averaged(runs: Sequence[Run]) -> list[Run]:
    """The runs a curve figure averages: each net's finished seeds, else (none finished) its
    unfinished ones, drawn as far as they logged; grouped as ``by_net``."""
    chosen = []
    for group in by_net(runs):
        done = [r for r in group if r.status == "done"]
        chosen += done or group
    return chosen


@dataclass(frozen=True)
class Band:
    """One series over a net's seeds: at each of ``steps``, the seeds' mean and minimum to
    maximum (``low``, ``high``); ``seeds``: how many it averages (1: no band to draw)."""

    steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seeds: int

    def __len__(self) -> int:
        return len(self.steps)


def band(series: Sequence[Sequence[tuple[int, float]]]) -> Band:
    """The seeds' ``(step, value)`` series as one: mean and min-max at the steps all of them
    have (empty when they share none, or none is given)."""
    if not series:
        empty = np.array([], dtype=float)
        return Band(np.array([], dtype=int), empty, empty, empty, 0)
    by_step = [dict(pts) for pts in series]
    shared = sorted(reduce(set.intersection, (set(d) for d in by_step)))
    values = np.array([[d[s] for s in shared] for d in by_step], dtype=float)
    values = values.reshape(len(series), len(shared))  # (seeds, steps), also when no step
    return Band(np.array(shared, dtype=int), values.mean(axis=0), values.min(axis=0),
                values.max(axis=0), len(series))


@dataclass(frozen=True)
class Stats:
    """A net's final numbers over its seeds: ``n`` of them, their mean, sample std (None below
    two seeds) and best (the lowest error); None where there is none."""

    n: int
    mean: float | None
    std: float | None
    best: float | None

    @property
    def text(self) -> str:
        """As the paper's Table 6: ``6.43 (6.61 ± 0.16)``, the best, then mean ± std; one seed:
        its value; none: empty."""
        if self.std is not None:
            return f"{self.best:.2f} ({self.mean:.2f} ± {self.std:.2f})"
        return f"{self.mean:.2f}" if self.mean is not None else ""


def stats(values: Iterable[float | None]) -> Stats:
    """``values`` (one per seed; None, a seed that has none, is left out) as ``Stats``."""
    v = [float(x) for x in values if x is not None]
    return Stats(len(v), statistics.fmean(v) if v else None,
                 statistics.stdev(v) if len(v) > 1 else None, min(v, default=None))


def seed_counts(groups: Sequence[Sequence[Run]]) -> str:
    """How many seeds each net's line averages: ``3 each``, else ``plain-20: 3, plain-56: 1``."""
    sizes = {len(g) for g in groups}
    if len(sizes) == 1:
        return f"{sizes.pop()} each"
    return ", ".join(f"{g[0].net}: {len(g)}" for g in groups)
