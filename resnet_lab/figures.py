"""``python -m resnet_lab.figures NAME --sweep DIR [--sweep DIR ...] --out DIR``: the paper's
figures and tables drawn from run records, local run directories or a W&B group
(``--wandb ENTITY/PROJECT --group GROUP``).

NAME is figure1, figure4, figure6, figure7, table6, shortcuts (Table 3), or all (every one whose
runs are present). Figures are saved as PNG and PDF, tables as CSV and Markdown, and every output
gets ``<name>.md``: what is plotted, the sources, the runs with their final errors and devices,
and the paper's nets that are missing or did not finish.

Choices the paper leaves open, stated in every caption too:
- One curve per net (data set, family, plain/residual, depth, shortcut): the lowest seed among
  finished runs, else the lowest seed. The paper's curves are single runs; a mean would smooth
  away their noise and mix runs of different lengths. Table 6 uses every finished seed.
- x unit: 1e4 iterations (the paper's) when the longest run has at least 20k; otherwise 1e3, 1e2
  or 1 so that short CPU studies read 0..20 rather than 0.00..0.06.
- y range: the paper's (0-20 % for Figs. 1 and 6, 20-60 % for Fig. 4) when every curve ends well
  inside it, else from 0 to above the largest final error.
- Unfinished runs (failed, running, interrupted) are drawn as far as they logged, marked in the
  legend ("plain-56 (failed)") and named in the caption.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import paper
from .errors import ResnetLabError
from .models import build_model, count_params, label
from .models.build import MODEL_KEYS
from .records import RunDir, read_metrics
from .responses import load_responses
from .tables import markdown_table, write_table

DATA_NAMES = {"cifar10": "CIFAR-10", "fashion_mnist": "Fashion-MNIST", "imagenet": "ImageNet",
              "synthetic": "synthetic data"}
SERIES = ("train/error", "val/error", "test/error", "val/top5_error", "test/top5_error")
WANDB_STEP = "trainer/global_step"
WANDB_STATUS = {"finished": "done", "failed": "failed", "crashed": "failed",
                "killed": "interrupted", "running": "running", "pending": "running"}
COLOURS = matplotlib.colormaps["tab10"].colors


class FiguresError(ResnetLabError):
    """A source that cannot be read, or nothing to draw: one sentence, exit status 1."""


# ---------------------------------------------------------------- records


@dataclass
class Run:
    """One run's records, whatever the source; field names as in a local run directory."""

    config: dict
    summary: dict
    metrics: dict[str, list[tuple[int, float]]]
    responses: list[dict] | None = None
    source: str = ""

    @property
    def model(self) -> dict:
        return self.config.get("model") or {}

    @property
    def family(self) -> str:
        return self.model.get("family", "cifar")

    @property
    def depth(self) -> int:
        return int(self.model.get("depth", 0))

    @property
    def residual(self) -> bool:
        return bool(self.model.get("residual", True))

    @property
    def shortcut(self) -> str:
        return self.model.get("shortcut") or ("A" if self.family == "cifar" else "B")

    @property
    def data(self) -> str:
        return (self.config.get("data") or {}).get("name", "unknown data")

    @property
    def seed(self) -> int:
        return int(self.config.get("seed") or 0)

    @property
    def status(self) -> str:
        return self.summary.get("status", "unknown")

    @property
    def device(self) -> str:
        # train.py writes the device when a run finishes; unfinished runs do not know it yet
        return self.summary.get("device") or "device not recorded"

    @property
    def net(self) -> str:
        return label(self.family, self.depth, self.residual, self.shortcut)

    @property
    def key(self) -> tuple:
        """What makes two runs seeds of one net."""
        return (self.data, self.family, self.residual, self.depth, self.shortcut)

    @property
    def steps(self) -> int:
        last = max((pts[-1][0] for pts in self.metrics.values() if pts), default=0)
        return int(self.summary.get("steps") or last)

    def final(self, *metrics: str) -> float | None:
        """The first of ``metrics`` the run has: the summary's final value, else the last logged."""
        for m in metrics:
            value = self.summary.get(m.replace("/", "_"))
            if value is None and self.metrics.get(m):
                value = self.metrics[m][-1][1]
            if value is not None:
                return float(value)
        return None


def find_run_dirs(root: Path) -> list[Path]:
    """Directories below ``root`` holding config.yaml and run records. Hydra's ``.hydra/`` and
    W&B's ``wandb/`` folders hold config files too; they are skipped."""
    found = []
    for path, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "wandb")
        if "config.yaml" in files and {"metrics.csv", "summary.json"} & set(files):
            found.append(Path(path))
            dirs[:] = []
    return found


def load_sweep(root: str | Path) -> list[Run]:
    root = Path(root)
    if not root.is_dir():
        raise FiguresError(f"--sweep {root}: no such directory")
    runs = []
    for d in find_run_dirs(root):
        rd = RunDir(d)
        cfg = rd.config()
        if isinstance(cfg, dict) and "model" in cfg:
            runs.append(Run(cfg, rd.summary() or {}, read_metrics(d), load_responses(d), str(d)))
    return runs


def _nested(cfg: dict) -> dict:
    """A W&B config as our nested dict: unwrap ``{"value": ...}`` entries, nest dotted keys."""
    out: dict = {}
    for k, v in cfg.items():
        if isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"}:
            v = v["value"]
        *parents, leaf = str(k).split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


def _wandb_series(run, metric: str) -> list[tuple[int, float]]:
    # one scan per metric: scan_history(keys=...) returns only rows that hold every key
    points = {int(row[WANDB_STEP]): float(row[metric])
              for row in run.scan_history(keys=[WANDB_STEP, metric])
              if row.get(WANDB_STEP) is not None and row.get(metric) is not None}
    return sorted(points.items())


def _wandb_device(run) -> str | None:
    try:
        meta = getattr(run, "metadata", None) or {}  # a file download on the real API
    except Exception:
        return None
    if meta.get("gpu"):
        return f"{meta['gpu']} x {meta.get('gpu_count', 1)}"
    return f"CPU ({meta['cpu_count']} cores)" if meta.get("cpu_count") else None


def run_from_wandb(run, where: str) -> Run:
    """A W&B run as the same record a local run directory gives."""
    s = run.summary
    summary = {m.replace("/", "_"): s.get(m) for m in SERIES if s.get(m) is not None}
    summary.update(status=WANDB_STATUS.get(run.state, run.state), steps=s.get(WANDB_STEP),
                   device=s.get("device") or _wandb_device(run))
    metrics = {m: pts for m in SERIES if (pts := _wandb_series(run, m))}
    rows = s.get("responses")
    responses = [dict(r) for r in rows] if rows else None
    return Run(_nested(dict(run.config)), summary, metrics, responses,
               f"wandb:{where}/{getattr(run, 'id', '?')}")


def load_wandb(path: str, group: str, api=None) -> list[Run]:
    """Every run of a W&B group (``api``: a ``wandb.Api()``, or a stand-in in tests)."""
    try:
        if api is None:
            import wandb

            api = wandb.Api()
        runs = [run_from_wandb(r, path) for r in api.runs(path, filters={"group": group})]
    except Exception as e:  # network, login, unknown project: one sentence, not a traceback
        raise FiguresError(f"--wandb {path} --group {group}: {type(e).__name__}: {e}") from e
    return [r for r in runs if r.model]  # a group may hold runs that are not resnet_lab's


def pick(runs: Sequence[Run]) -> list[Run]:
    """One run per net: the lowest finished seed, else the lowest seed; plain nets first."""
    chosen: dict[tuple, Run] = {}
    for r in sorted(runs, key=lambda r: (r.status != "done", r.seed, r.source)):
        chosen.setdefault(r.key, r)
    return [chosen[k] for k in sorted(chosen)]


def legend_name(r: Run, runs: Sequence[Run]) -> str:
    """``plain-56``, ``ResNet-110 (failed)``; the data set too when a figure mixes several."""
    name = r.net + ("" if r.status == "done" else f" ({r.status})")
    return name + (f" [{r.data}]" if len({x.data for x in runs}) > 1 else "")


# ---------------------------------------------------------------- drawing helpers


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


def _finish_axes(ax, title: str, xlabel: str, ylabel: str, empty: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, lw=0.5)
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_locator(MaxNLocator(7, integer=True))
    if any(not line.get_label().startswith("_") for line in ax.get_lines()):
        # the paper's corner; "best" moves it off a curve that ends there (an unfinished run)
        ax.legend(loc="best", fontsize=7, frameon=True)
    else:
        ax.text(0.5, 0.5, f"no runs of {empty}", transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="0.4")


def _footer(fig: Figure, runs: Sequence[Run], extra: str = "") -> None:
    """Data set and devices under the figure, so a PNG on its own says what it shows."""
    data = ", ".join(sorted({DATA_NAMES.get(r.data, r.data) for r in runs}))
    devices = ", ".join(sorted({r.summary["device"] for r in runs if r.summary.get("device")}))
    devices = f"device: {devices or 'not recorded (no finished run)'}"
    text = " | ".join(t for t in (f"data: {data}", devices, extra) if t)
    fig.text(0.5, 0.01, text, ha="center", va="bottom", fontsize=7, color="0.35", gid="footer")


# ---------------------------------------------------------------- the curve figures (1, 4, 6)


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


def _plot_curve(ax, r: Run, curve: Curve, unit: int, colour, name: str, smooth: int) -> float:
    """Draw one series of one run; return its last (plotted) value."""
    metric = next((m for m in curve.metrics if r.metrics.get(m)), None)
    if metric is None:
        return math.nan
    steps, values = zip(*r.metrics[metric], strict=True)
    y = moving_average(values, smooth if curve.smooth else 1)
    ax.plot(np.asarray(steps) / unit, y, color=colour, gid=f"{r.net}:{metric}",
            label=name if curve.legend else f"_{name} {metric}", **curve.style)
    return float(y[-1])


def draw_curves(runs: Sequence[Run], panels: Sequence[Panel], title: str,
                paper_range: tuple[float, float], key: str = "", smooth: int = 1) -> Figure:
    """Error against iterations, one panel per ``panels`` entry, one colour per depth (plain-20
    and ResNet-20 share one, across panels too)."""
    unit = x_unit(max(r.steps for r in runs))
    colours = colour_map(runs, lambda r: (r.data, r.depth, r.shortcut))
    fig = Figure(figsize=(4.2 * len(panels), 3.9), dpi=150)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    finals = []
    for ax, panel in zip(axes, panels, strict=True):
        for r in (r for r in runs if panel.keep(r)):
            colour, name = colours[(r.data, r.depth, r.shortcut)], legend_name(r, runs)
            finals += [_plot_curve(ax, r, c, unit, colour, name, smooth) for c in panel.curves]
    ylim = y_range([f for f in finals if not math.isnan(f)], paper_range)
    for ax, panel in zip(axes, panels, strict=True):  # one x and y range for all, as the paper
        ax.set_ylim(*ylim)
        ax.set_xlim(0, max(r.steps for r in runs) / unit)
        _finish_axes(ax, panel.title, x_label(unit), panel.ylabel, panel.title)
    fig.suptitle(title, fontsize=10)
    smoothed = f"training error: trailing mean of {smooth} points" if smooth > 1 else ""
    _footer(fig, runs, "; ".join(t for t in (key, smoothed) if t))
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
        kw = dict(color=colours[r.key], lw=1.2, label=legend_name(r, runs))
        top.plot(layers, stds, gid=f"{r.net}:original", **kw)
        bottom.plot(range(1, len(stds) + 1), sorted(stds, reverse=True), gid=f"{r.net}:sorted",
                    **kw)
    stds = [row["std"] for r in runs for row in r.responses]
    for ax, order in ((top, "original"), (bottom, "sorted by magnitude")):
        ax.set_ylim(0, 1.1 * max(stds))
        ax.set_xlim(0, max(len(r.responses) for r in runs) + 1)
        _finish_axes(ax, "", f"layer index ({order})", "std", "nets with responses.json")
    fig.suptitle(title, fontsize=10)
    _footer(fig, runs)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


# ---------------------------------------------------------------- the tables (6 and 3)


@cache
def n_params(model_items: tuple) -> int:
    return count_params(build_model(dict(model_items)))


def _params(r: Run) -> int:
    return n_params(tuple(sorted((k, v) for k, v in r.model.items() if k in MODEL_KEYS)))


def _r2(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def table6_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per CIFAR net: test error over its finished seeds (sample std), the paper's
    column beside it (residual nets; plain nets follow without paper numbers)."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.data, not r.residual, r.depth, r.shortcut)].append(r)
    rows = []
    for _, group in sorted(groups.items()):
        r = group[0]
        finals = [x.final("test/error") for x in group if x.status == "done"]
        errors = [e for e in finals if e is not None]
        mean = statistics.fmean(errors) if errors else None
        std = statistics.stdev(errors) if len(errors) > 1 else None
        is_paper = r.residual and r.shortcut == "A"
        paper_ms = paper.TABLE6_RESNET110_MEAN_STD if is_paper and r.depth == 110 else None
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, params=_params(r),
            paper_params_M=paper.CIFAR_PARAMS_M.get(r.depth) if is_paper else None,
            runs=len(errors), unfinished=len(group) - len(errors),
            test_error=(f"{mean:.2f} ± {std:.2f}" if std is not None
                        else f"{mean:.2f}" if mean is not None else ""),
            mean=_r2(mean), std=_r2(std), best=_r2(min(errors, default=None)),
            paper_test_error=paper.TABLE6_TEST_ERROR.get(r.depth) if is_paper else None,
            paper_mean_std=f"{paper_ms[0]} ± {paper_ms[1]}" if paper_ms else None))
    columns = ["net", "depth", "params", "paper_params_M", "runs", "unfinished", "test_error",
               "mean", "std", "best", "paper_test_error", "paper_mean_std"]
    return rows, _with_data(rows, columns)


def _paper_table3(r: Run) -> tuple[float | None, float | None]:
    if r.residual and (str(r.depth), r.shortcut) in paper.TABLE3:
        return paper.TABLE3[(str(r.depth), r.shortcut)]
    plain_or_a = not r.residual or r.shortcut == "A"  # Table 2's nets: plain and option A
    kind = "resnet" if r.residual else "plain"
    return (paper.TABLE2_TOP1.get((kind, r.depth)) if plain_or_a else None), None


def shortcut_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """Table 3: one row per ImageNet run, final top-1/top-5 error beside the paper's."""
    rows = []
    for r in sorted(runs, key=lambda r: (r.key, r.seed)):
        top1, top5 = _paper_table3(r)
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, shortcut=r.shortcut if r.residual else "-",
            seed=r.seed, status=r.status, steps=r.steps,
            top1=_r2(r.final("test/error", "val/error")),
            top5=_r2(r.final("test/top5_error", "val/top5_error")),
            paper_top1=top1, paper_top5=top5))
    columns = ["net", "depth", "shortcut", "seed", "status", "steps", "top1", "top5",
               "paper_top1", "paper_top5"]
    return rows, _with_data(rows, columns)


def _with_data(rows: list[dict], columns: list[str]) -> list[str]:
    return (["data"] if len({r["data"] for r in rows}) > 1 else []) + columns


# ---------------------------------------------------------------- the outputs


def _cifar(r: Run) -> bool:
    return r.family == "cifar"


def _imagenet(r: Run) -> bool:
    return r.family == "imagenet"


def _logged(r: Run) -> bool:
    return any(r.metrics.get(m) for m in SERIES)


def _always(r: Run) -> bool:
    return True


TRAIN, TEST, VAL = ("train/error",), ("test/error",), ("val/error", "test/error")
# Fig. 1 draws one series per panel; Figs. 4 and 6 pair a net's training and test curves in one
# colour, and only the bold one names the net in the legend.
FIG1_TRAIN = Curve(TRAIN, dict(lw=1.3), smooth=True)
FIG1_TEST = Curve(TEST, dict(lw=1.3))
DASHED_TRAIN = Curve(TRAIN, dict(lw=0.9, ls="--"), legend=False, smooth=True)
THIN_TRAIN = Curve(TRAIN, dict(lw=0.8), legend=False, smooth=True)
BOLD_TEST, BOLD_VAL = Curve(TEST, dict(lw=2.0)), Curve(VAL, dict(lw=2.0))


@dataclass(frozen=True)
class Output:
    title: str
    about: str  # the caption's first paragraph
    keep: Callable[[Run], bool]  # the runs this output is about (all seeds, any status)
    needs: str  # ... in words, for "nothing to draw"
    expected: tuple[str, ...]  # the paper's nets, as legend names
    usable: Callable[[Run], bool] = _logged  # those of them that can be drawn
    draw: Callable[..., Figure] | None = None  # (picked runs, title=, smooth=) -> Figure
    table: Callable[[Sequence[Run]], tuple[list[dict], list[str]]] | None = None


def _curves(panels: Sequence[Panel], paper_range, key: str = "") -> Callable[..., Figure]:
    return lambda runs, title, smooth=1: draw_curves(runs, panels, title, paper_range, key, smooth)


OUTPUTS = {
    "figure1": Output(
        "Figure 1: plain nets, training and test error",
        keep=lambda r: _cifar(r) and not r.residual,
        about="Training error (left) and test error (right) of the plain CIFAR-family nets "
              "against iterations. In the paper (CIFAR-10, plain-20 and plain-56) the deeper net "
              "has the higher training error and so the higher test error: degradation, not "
              "over-fitting.",
        needs="plain CIFAR-family net with logged errors", expected=("plain-20", "plain-56"),
        draw=_curves([Panel("training error", _always, (FIG1_TRAIN,), "training error (%)"),
                      Panel("test error", _always, (FIG1_TEST,), "test error (%)")], (0, 20))),
    "figure6": Output(
        "Figure 6: training (dashed) and test (bold) error", keep=_cifar,
        about="Dashed lines: training error; bold lines: test error; one colour per depth. "
              "Left: plain nets; middle: ResNets up to 110 layers; right: ResNets of 110 layers "
              "and more (the paper: ResNet-110 and ResNet-1202).",
        needs="CIFAR-family net with logged errors",
        expected=tuple(f"plain-{d}" for d in (20, 32, 44, 56))
        + tuple(f"ResNet-{d}" for d in paper.CIFAR_DEPTHS),
        draw=_curves([Panel(title, keep, (DASHED_TRAIN, BOLD_TEST)) for title, keep in (
                          ("plain", lambda r: not r.residual),
                          ("ResNet, depth ≤ 110", lambda r: r.residual and r.depth <= 110),
                          ("ResNet, depth ≥ 110", lambda r: r.residual and r.depth >= 110))],
                     (0, 20), "dashed: training error, bold: test error")),
    "figure4": Output(
        "Figure 4: ImageNet, training (thin) and validation (bold) error", keep=_imagenet,
        about="Thin lines: training error; bold lines: validation error (val/error, center "
              "crop; test/error where a run has no validation split). Left: plain nets; right: "
              "ResNets (the paper: plain-18/34 and ResNet-18/34 with option A).",
        needs="ImageNet-family net with logged errors",
        expected=("plain-18", "plain-34", "ResNet-18-A", "ResNet-34-A"),
        draw=_curves([Panel(title, keep, (THIN_TRAIN, BOLD_VAL)) for title, keep in (
                          ("plain", lambda r: not r.residual), ("ResNet", lambda r: r.residual))],
                     (20, 60), "thin: training error, bold: validation error")),
    "figure7": Output(
        "Figure 7: standard deviation of layer responses", keep=_cifar,
        usable=lambda r: bool(r.responses),
        about="Std of each 3x3 layer's response (its output after BN, before the ReLU or the "
              "addition) over the evaluation set. Top: layers in their original order; bottom: "
              "the same stds sorted in descending order. The paper finds the ResNets' responses "
              "smaller than the plain nets'.",
        needs="CIFAR-family net with responses.json", draw=draw_responses,
        expected=("plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110")),
    "table6": Output(
        "Table 6: CIFAR test error per depth", keep=_cifar, usable=_always, table=table6_rows,
        about="Test error (%) of the CIFAR-family nets: runs = finished seeds, mean ± sample "
              "std over them, best = lowest. paper_test_error is Table 6's (for ResNet-110 its "
              "best of 5 runs, paper_mean_std their mean ± std); paper_params_M in millions.",
        needs="CIFAR-family net", expected=tuple(f"ResNet-{d}" for d in paper.CIFAR_DEPTHS)),
    "shortcuts": Output(
        "Table 3: ImageNet shortcut options", keep=_imagenet, usable=_always, table=shortcut_rows,
        about="Final top-1 and top-5 error (%) of the ImageNet-family nets (test/error: the "
              "validation set, one center crop; unfinished runs: their last val/error). The "
              "paper's numbers (Table 3; plain and option-A nets from Table 2) are 10-crop, so "
              "ours are expected to be higher.",
        needs="ImageNet-family net", expected=("ResNet-34-A", "ResNet-34-B", "ResNet-34-C")),
}


# ---------------------------------------------------------------- captions and files


def run_rows(runs: Sequence[Run], used: Sequence[Run]) -> list[dict]:
    return [dict(net=r.net, seed=r.seed, status=r.status, steps=r.steps,
                 train_error=_r2(r.final("train/error")),
                 test_error=_r2(r.final("test/error", "val/error")), device=r.device,
                 used="yes" if any(r is u for u in used) else "no", source=r.source)
            for r in sorted(runs, key=lambda r: (r.key, r.seed))]


RUN_COLUMNS = ["net", "seed", "status", "steps", "train_error", "test_error", "device", "used",
               "source"]


def caption(out: Output, runs: Sequence[Run], used: Sequence[Run], sources: Sequence[str],
            smooth: int = 1) -> str:
    """The body of ``<name>.md``: what, from where, which runs, and what is missing."""
    data = ", ".join(sorted({DATA_NAMES.get(r.data, r.data) for r in runs}))
    devices = ", ".join(f"{d} ({n} run{'s' * (n > 1)})"
                        for d, n in sorted(Counter(r.device for r in runs).items()))
    how = ("`used` marks the finished runs, whose final errors the table reports." if out.table
           else "Curves: one run per net, the lowest finished seed (else the lowest seed); all "
           "runs are listed below, `used` marks the ones drawn.")
    if smooth > 1:
        how += f" Training error smoothed with a trailing mean of {smooth} points."
    present = {r.net for r in runs}
    missing = [n for n in out.expected if n not in present]
    notes = [f"- Not in these records (the paper's nets for this output): {', '.join(missing)}."
             ] if missing else []
    notes += [f"- {r.net} seed {r.seed}: {r.status}"
              + (f" ({r.summary['reason']})" if r.summary.get("reason") else "")
              + (", drawn as far as it got" if any(r is u for u in used) else ", not used")
              for r in sorted(runs, key=lambda r: (r.key, r.seed)) if r.status != "done"]
    return "\n".join([
        out.about, "", how, "", f"Data set: {data}. Devices: {devices}.",
        f"Sources: {'; '.join(sources)}.", "", "## Runs", "",
        markdown_table(run_rows(runs, used), RUN_COLUMNS), "", "## Missing or unfinished", "",
        *(notes or ["- none"]), ""])


def select(name: str, runs: Sequence[Run], sources: Sequence[str] = ()) -> tuple[list, list]:
    """The runs an output is about, and those of them it can use; FiguresError when none."""
    out = OUTPUTS[name]
    mine = [r for r in runs if out.keep(r)]
    usable = [r for r in mine if out.usable(r)]
    if not usable:
        where = f" in {'; '.join(sources)}" if sources else ""
        raise FiguresError(f"{name}: nothing to draw: no {out.needs} among the {len(runs)} "
                           f"runs{where}")
    return mine, usable


def draw(name: str, runs: Sequence[Run], smooth: int = 1) -> Figure:
    """Figure ``name`` from any runs (those it is not about are ignored), one run per net."""
    out = OUTPUTS[name]
    return out.draw(pick(select(name, runs)[1]), title=out.title, smooth=smooth)


def render(name: str, runs: Sequence[Run], out_dir: str | Path, sources: Sequence[str],
           formats: Sequence[str] = ("png", "pdf"), smooth: int = 1, dpi: int = 150) -> list[Path]:
    """Draw (or tabulate) one output from ``runs``; return the paths written."""
    out, out_dir = OUTPUTS[name], Path(out_dir)
    mine, usable = select(name, runs, sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    if out.table:
        rows, columns = out.table(usable)
        used = [r for r in usable if r.status == "done"]
        notes = caption(out, mine, used, sources)
        return list(write_table(rows, columns, out_dir / name, title=out.title, notes=notes))
    picked, fig = pick(usable), draw(name, usable, smooth)
    paths = [out_dir / f"{name}.{fmt}" for fmt in formats]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    md = out_dir / f"{name}.md"
    md.write_text(f"# {out.title}\n\n{caption(out, mine, picked, sources, smooth)}")
    print(out.title, markdown_table(run_rows(mine, picked), [*RUN_COLUMNS[:6], "used"]), sep="\n")
    print(f"saved {', '.join(str(p) for p in [*paths, md])}")
    return [*paths, md]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m resnet_lab.figures",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=[*OUTPUTS, "all"])
    p.add_argument("--sweep", action="append", default=[], metavar="DIR",
                   help="a directory of run directories, searched recursively (repeatable)")
    p.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read the runs of --group from W&B")
    p.add_argument("--group", help="W&B group (the study, e.g. figure6)")
    p.add_argument("--out", default="outputs/figures", help="output directory (%(default)s)")
    p.add_argument("--data", help="only runs on this data set (cifar10, fashion_mnist, ...)")
    p.add_argument("--smooth", type=int, default=1, metavar="N",
                   help="trailing mean of N training-error points (default: none)")
    p.add_argument("--format", default="png,pdf", help="figure formats (%(default)s)")
    p.add_argument("--dpi", type=int, default=150)
    args = p.parse_args(argv)
    if not args.sweep and not args.wandb:
        p.error("give --sweep DIR or --wandb ENTITY/PROJECT --group GROUP")
    if args.wandb and not args.group:
        p.error("--wandb needs --group")
    formats = args.format.split(",")
    if unknown := set(formats) - set(Figure().canvas.get_supported_filetypes()):
        p.error(f"--format: unknown {', '.join(sorted(unknown))}")
    try:
        runs = [r for d in args.sweep for r in load_sweep(d)]
        sources = [f"sweep {d}" for d in args.sweep]
        if args.wandb:
            runs += load_wandb(args.wandb, args.group)
            sources.append(f"W&B {args.wandb} group {args.group}")
        runs = [r for r in runs if args.data in (None, r.data)]
        if not runs:
            raise FiguresError(f"no runs in {'; '.join(sources)}"
                               + (f" on {args.data}" if args.data else "")
                               + " (a run directory holds config.yaml and metrics.csv)")
        names = list(OUTPUTS) if args.name == "all" else [args.name]
        written = []
        for name in names:
            try:
                written += render(name, runs, args.out, sources, formats, args.smooth, args.dpi)
            except FiguresError as e:
                if args.name != "all":
                    raise
                print(f"{e}; skipped")
        if not written:
            raise FiguresError(f"nothing to draw from the {len(runs)} runs in "
                               f"{'; '.join(sources)}")
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
