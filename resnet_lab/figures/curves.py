"""The figures' drawing: error against iterations (Figures 1, 4 and 6) and the std of layer
responses (Figure 7), on a matplotlib ``Figure`` that is never shown (no display needed).

Choices the paper leaves open:
- x unit: 1e4 iterations (the paper's) when the longest run has at least 20k; otherwise 1e3, 1e2
  or 1 so that short CPU studies read 0..20 rather than 0.00..0.06.
- y range: the paper's (0-20 % for Figs. 1 and 6, 20-60 % for Fig. 4) when every curve ends well
  inside it, else from 0 to above the largest final error.
- Seeds: each net is one line, the mean over the runs given for it (``seeds.averaged``: its
  finished seeds, else its unfinished ones) at the iterations all of them logged, in a shaded
  band from their minimum to their maximum (``seeds``: why these); a net with one run given is
  that run, drawn as the paper's single-run curves, without a band. The footer says how many
  seeds the lines average where any averages more than one.
- Unfinished runs (failed, running, interrupted) are drawn as far as they logged, marked in the
  legend ("plain-56 (failed)").
- A test curve evaluated on a subset (data.eval_subset) ends in a diamond: the final test on the
  whole test set, a different statistic from the curve's points, so not joined to them (over
  seeds: their mean, with a vertical min-max bar).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .runs import Run, data_sets
from .seeds import BAND, Band, band, by_net, seed_counts

COLOURS = matplotlib.colormaps["tab10"].colors
# The final test on the whole test set, where a curve's points are on a subset (data.eval_subset)
FINAL_MARKER = dict(marker="D", ms=5, mec="black", mew=0.6)
FINAL_LABEL = "final test, all test images (curves: a subset)"
BAND_ALPHA = 0.18  # light enough that the bands of neighbouring nets stay readable


@dataclass(frozen=True)
class Curve:
    metrics: tuple[str, ...]  # the first one a run has is drawn
    style: dict
    legend: bool = True  # this curve names the net in the legend (one entry per net)
    smooth: bool = False  # --smooth applies (training error: noisy, logged often)


@dataclass(frozen=True)
class Panel:
    title: str
    keep: Callable[[Run], bool]
    curves: tuple[Curve, ...]
    ylabel: str = "error (%)"


# ---------------------------------------------------------------- axes helpers


def x_unit(max_step: int) -> int:
    """Iterations per x-axis unit: the paper's 1e4 for full runs, less for short ones."""
    return next((u for u in (10_000, 1_000, 100) if max_step >= 2 * u), 1)


def x_label(unit: int) -> str:
    return f"iter. (1e{round(math.log10(unit))})" if unit > 1 else "iter."


def moving_average(values: Sequence[float], n: int) -> np.ndarray:
    """Trailing mean over ``n`` points (fewer at the start): same length, same first point."""
    y = np.asarray(values, dtype=float)
    if n <= 1 or len(y) == 0:
        return y
    c = np.concatenate([[0.0], np.cumsum(y)])
    i = np.arange(1, len(y) + 1)
    lo = np.maximum(0, i - n)
    return (c[i] - c[lo]) / (i - lo)


def y_range(finals: Sequence[float], paper_range: tuple[float, float]) -> tuple[float, float]:
    """The paper's range when every curve ends well inside it (early points are clipped, as in
    the paper); otherwise 0 to a round number above the largest final error."""
    lo, hi = paper_range
    if finals and min(finals) >= lo and max(finals) <= 0.8 * hi:
        return paper_range
    return 0, min(100, 10 * math.ceil(1.25 * max(finals, default=80) / 10))


def colour_map(runs: Sequence[Run], key: Callable[[Run], tuple]) -> dict[tuple, tuple]:
    keys = sorted({key(r) for r in runs})
    return {k: COLOURS[i % len(COLOURS)] for i, k in enumerate(keys)}


def legend_name(group: Sequence[Run], runs: Sequence[Run]) -> str:
    """A net drawn from ``group`` (its seeds): ``plain-56``, ``ResNet-110 (failed)``; the data
    set too when a figure mixes several."""
    r, status = group[0], sorted({x.status for x in group if x.status != "done"})
    name = r.net + (f" ({', '.join(status)})" if status else "")
    return name + (f" [{r.data}]" if len({x.data for x in runs}) > 1 else "")


def _finish_axes(ax, title: str, xlabel: str, ylabel: str, empty: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, lw=0.5)
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_locator(MaxNLocator(7, integer=True))
    if any(str(line.get_gid()).endswith(":final") for line in ax.get_lines()):
        # one legend entry for the markers: the final test is on all test images, the curve not
        ax.plot([], [], color="0.3", ls="none", **FINAL_MARKER, label=FINAL_LABEL, gid="final-key")
    if any(not line.get_label().startswith("_") for line in ax.get_lines()):
        # the paper's corner; "best" moves it off a curve that ends there (an unfinished run)
        ax.legend(loc="best", fontsize=7, frameon=True)
    else:
        ax.text(0.5, 0.5, f"no runs of {empty}", transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="0.4")


def seeds_key(runs: Sequence[Run]) -> str:
    """What the lines and bands are, where some net is drawn from more than one seed."""
    groups = by_net(runs)
    if all(len(g) == 1 for g in groups):
        return ""
    return f"lines: mean over each net's seeds ({seed_counts(groups)}), shaded: {BAND}"


def footer(fig: Figure, runs: Sequence[Run], extra: str = "") -> None:
    """Data set and devices under the figure, so a PNG on its own says what it shows."""
    devices = ", ".join(sorted({r.device for r in runs if r.summary.get("device")}))
    devices = f"device: {devices or 'not recorded (no finished run)'}"
    text = " | ".join(t for t in (f"data: {data_sets(runs)}", devices, extra) if t)
    fig.text(0.5, 0.01, text, ha="center", va="bottom", fontsize=7, color="0.35", gid="footer",
             wrap=True)  # many nets with unequal seeds make a long line


# ---------------------------------------------------------------- Figures 1, 4, 6 and 7


def _series(group: Sequence[Run], metric: str, smooth: int) -> Band:
    """One series of a net over its seeds that logged it, each smoothed first (so that the band
    spans the seeds' curves as drawn)."""
    series = []
    for r in (r for r in group if r.metrics.get(metric)):
        steps, values = zip(*r.metrics[metric], strict=True)
        series.append(list(zip(steps, moving_average(values, smooth), strict=True)))
    return band(series)


def _plot_curve(ax, group: Sequence[Run], curve: Curve, unit: int, colour, name: str,
                smooth: int) -> float:
    """Draw one series of one net (its seeds' mean, and their band where there are several);
    return its last (plotted) value."""
    metric = next((m for m in curve.metrics if any(r.metrics.get(m) for r in group)), None)
    if metric is None:
        return math.nan
    net, line = group[0].net, _series(group, metric, smooth if curve.smooth else 1)
    if not len(line):  # seeds that share no iteration: not one recipe (render refuses that)
        return math.nan
    x = line.steps / unit
    ax.plot(x, line.mean, color=colour, gid=f"{net}:{metric}",
            label=name if curve.legend else f"_{name} {metric}", **curve.style)
    if line.seeds > 1:
        ax.fill_between(x, line.low, line.high, color=colour, alpha=BAND_ALPHA, lw=0,
                        gid=f"{net}:{metric}:band", label=f"_{name} {metric} band")
    seeded = [r for r in group if r.metrics.get(metric)]
    final = band([[r.final_points[metric]] for r in seeded if metric in r.final_points])
    if len(final) and final.seeds == len(seeded):  # the curve is on a subset; the final test
        # on the whole set, over the same seeds as the curve
        fx = final.steps / unit
        if final.seeds > 1:
            ax.vlines(fx, final.low, final.high, color=colour, lw=1.0, clip_on=False,
                      gid=f"{net}:{metric}:final:band")
        ax.plot(fx, final.mean, color=colour, ls="none", **FINAL_MARKER, clip_on=False,
                gid=f"{net}:{metric}:final", label=f"_{name} final")
        return float(final.mean[-1])
    return float(line.mean[-1])


def draw_curves(runs: Sequence[Run], panels: Sequence[Panel], title: str,
                paper_range: tuple[float, float], key: str = "", smooth: int = 1) -> Figure:
    """Error against iterations, one panel per ``panels`` entry, one colour per depth (plain-20
    and ResNet-20 share one, across panels too), one line per net: the mean over the ``runs``
    of its seeds (``seeds.averaged`` chooses them), in their min-max band."""
    unit = x_unit(max(r.steps for r in runs))
    colours = colour_map(runs, lambda r: (r.data, r.depth, r.shortcut))
    fig = Figure(figsize=(4.2 * len(panels), 3.9), dpi=150)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    finals, nets = [], by_net(runs)
    for ax, panel in zip(axes, panels, strict=True):
        for group in (g for g in nets if panel.keep(g[0])):
            r = group[0]
            colour, name = colours[(r.data, r.depth, r.shortcut)], legend_name(group, runs)
            finals += [_plot_curve(ax, group, c, unit, colour, name, smooth) for c in panel.curves]
    ylim = y_range([f for f in finals if not math.isnan(f)], paper_range)
    for ax, panel in zip(axes, panels, strict=True):  # one x and y range for all, as the paper
        ax.set_ylim(*ylim)
        ax.set_xlim(0, max(r.steps for r in runs) / unit)
        _finish_axes(ax, panel.title, x_label(unit), panel.ylabel, panel.title)
    fig.suptitle(title, fontsize=10)
    smoothed = f"training error: trailing mean of {smooth} points" if smooth > 1 else ""
    footer(fig, runs, "; ".join(t for t in (key, seeds_key(runs), smoothed) if t))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def draw_responses(runs: Sequence[Run], title: str, **_) -> Figure:
    """Figure 7: std of each layer's response, in layer order (top) and sorted (bottom)."""
    colours = colour_map(runs, lambda r: r.key)
    fig = Figure(figsize=(7, 6.4), dpi=150)
    top, bottom = fig.subplots(2, 1)
    for r in runs:
        stds = [row["std"] for row in r.responses]
        layers = [row.get("layer", i + 1) for i, row in enumerate(r.responses)]
        kw = dict(color=colours[r.key], lw=1.2, label=legend_name([r], runs))
        top.plot(layers, stds, gid=f"{r.net}:original", **kw)
        bottom.plot(range(1, len(stds) + 1), sorted(stds, reverse=True), gid=f"{r.net}:sorted",
                    **kw)
    stds = [row["std"] for r in runs for row in r.responses]
    for ax, order in ((top, "original"), (bottom, "sorted by magnitude")):
        ax.set_ylim(0, 1.1 * max(stds))
        ax.set_xlim(0, max(len(r.responses) for r in runs) + 1)
        _finish_axes(ax, "", f"layer index ({order})", "std", "nets with responses.json")
    fig.suptitle(title, fontsize=10)
    footer(fig, runs)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
