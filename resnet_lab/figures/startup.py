"""The ``startup`` figure: each run's training loss and gradient norm over its first iterations,
one line per run named by its switches (``switches.find_switches``: the config keys in which it
differs from the other runs), one column per net; and its caption's table of the numbers (the
peak loss and its iteration, the gradient norm of the first iterations). Made for cpu_startup
(where ResNet-56's start-up loss spike comes from); it draws any runs that logged their loss in
their first iterations (the gradient norm: ``trainer.log_grad_norm``).

The loss is drawn on a linear axis, where a spike reads as it is; the gradient norm on a log
axis, where runs whose norms differ tenfold stay readable side by side. A switch that every run
names (no reference value: as many runs with each value, as a precision swept against every
other switch) is drawn as the line style, the others as the colour, so that runs equal but for
it stay visible on top of each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from ..metric_names import GRAD_NORM, TRAIN_LOSS
from ..tables import markdown_table
from .curves import COLOURS, Panel, footer
from .runs import Run
from .switches import DEFAULTS, Switches, early_peak, find_switches, run_order

ITERATIONS = 20  # the start-up: iterations 1 to 20
FIRST = 5  # the table's gradient norms: iterations 1 to 5
LOG_Y = (GRAD_NORM,)
STYLES = ("-", "--", ":", "-.")


def first_points(r: Run, metric: str, n: int = ITERATIONS) -> list[tuple[int, float]]:
    """The run's ``metric`` points at iterations 1..n."""
    return [(s, v) for s, v in r.metrics.get(metric, []) if 1 <= s <= n]


def started(r: Run) -> bool:
    """The run logged its training loss within its first ITERATIONS iterations."""
    return bool(first_points(r, TRAIN_LOSS))


def _name(r: Run, cell: str, runs: Sequence[Run]) -> str:
    seeds = f", seed {r.seed}" if len({x.seed for x in runs}) > 1 else ""
    status = "" if r.status == "done" else f" ({r.status})"
    return f"{cell}{seeds}{status}"


def style_key(sw: Switches, runs: Sequence[Run]) -> str | None:
    """The switch drawn as the line style: the one switch without a reference value, when it
    has few enough values for STYLES; else None (every switch in the colour)."""
    free = [k for k in sw.keys if k not in sw.reference]
    if len(free) != 1:
        return None
    values = {cell for r in runs for cell in sw.cells[id(r)] if cell.startswith(f"{free[0]}=")}
    return free[0] if len(values) <= len(STYLES) else None


@dataclass(frozen=True)
class StartupFigure:
    """Rows: ``panels`` (one series each); columns: one per net. Called as an Output's ``draw``;
    the panels are data, as CurveFigure's, so the caption reads which series it shows."""

    panels: tuple[Panel, ...]
    iterations: int = ITERATIONS

    def __call__(self, runs: Sequence[Run], title: str, smooth: int = 1) -> Figure:
        sw = find_switches(runs)
        runs = sorted(runs, key=lambda r: run_order(r, sw.of(r)))
        nets = list(dict.fromkeys(r.net for r in runs))
        key = style_key(sw, runs)

        def styled(r: Run) -> str:  # the run's value of the style switch
            return next((c for c in sw.cells[id(r)] if key and c.startswith(f"{key}=")), "")

        def coloured(r: Run) -> str:  # its other switches
            return ", ".join(c for c in sw.cells[id(r)] if c != styled(r)) or DEFAULTS

        # one colour per cell of the other switches, the same in every column, the defaults first
        cells = dict.fromkeys(coloured(r) for r in sorted(runs, key=lambda r: coloured(r) != DEFAULTS))
        colours = {c: COLOURS[i % len(COLOURS)] for i, c in enumerate(cells)}
        styles = {v: STYLES[i] for i, v in enumerate(dict.fromkeys(styled(r) for r in runs))}
        fig = Figure(figsize=(4.4 * len(nets), 2.9 * len(self.panels) + 1.2), dpi=150)
        axes = fig.subplots(len(self.panels), len(nets), squeeze=False, sharex=True, sharey="row")
        handles = {}
        for row, panel in zip(axes, self.panels, strict=True):
            (curve,) = panel.curves
            metric = curve.metrics[0]
            for ax, net in zip(row, nets, strict=True):
                for r in (r for r in runs if r.net == net and panel.keep(r)):
                    points = first_points(r, metric, self.iterations)
                    if not points:
                        continue
                    steps, values = zip(*points, strict=True)
                    name = _name(r, sw.of(r), runs)
                    (line,) = ax.plot(steps, values, color=colours[coloured(r)],
                                      ls=styles[styled(r)], label=name,
                                      gid=f"{r.net}:{sw.of(r)}:{metric}", **curve.style)
                    handles.setdefault(name, line)
                ax.set_title(f"{net}: {panel.title}", fontsize=9)
                ax.set_ylabel(panel.ylabel)
                ax.grid(alpha=0.3, lw=0.5, which="both")
                if not ax.get_lines():
                    ax.text(0.5, 0.5, f"no {metric} logged", transform=ax.transAxes,
                            ha="center", va="center", fontsize=8, color="0.4")
            if metric in LOG_Y and any(ax.get_lines() for ax in row):
                row[0].set_yscale("log")  # the row shares its y axis
        for ax in axes[-1]:
            ax.set_xlabel("iteration")
            ax.set_xlim(0.5, self.iterations + 0.5)
            ax.set_xticks(range(1, self.iterations + 1, 2 if self.iterations <= 30 else 5))
        fig.suptitle(title, fontsize=10)
        ncol = min(len(handles), 2)
        fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol,
                   fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.035))
        legend_rows = -(-len(handles) // max(ncol, 1))
        footer(fig, runs, "one line per run, named by the config keys in which it differs")
        fig.tight_layout(rect=(0, 0.05 + 0.035 * legend_rows, 1, 1))
        return fig


def startup_rows(runs: Sequence[Run], first: int = FIRST) -> tuple[list[dict], list[str]]:
    """One row per run: its net and switches, its loss at iteration 1, the peak of its loss in
    the first ITERATIONS iterations and its iteration, its loss at the last of them, and its
    gradient norm at iterations 1..first (blank where not logged)."""
    sw = find_switches(runs)
    rows = []
    for r in sorted(runs, key=lambda r: run_order(r, sw.of(r))):
        loss = dict(first_points(r, TRAIN_LOSS))
        norm = dict(first_points(r, GRAD_NORM))
        peak, at = early_peak(r, ITERATIONS)
        rows.append({"net": r.net, "switches": _name(r, sw.of(r), runs), "loss_1": loss.get(1),
                     "peak_loss": peak, "peak_at": at, f"loss_{ITERATIONS}": loss.get(ITERATIONS),
                     **{f"grad_norm_{i}": norm.get(i) for i in range(1, first + 1)}})
    columns = ["net", "switches", "loss_1", "peak_loss", "peak_at", f"loss_{ITERATIONS}",
               *(f"grad_norm_{i}" for i in range(1, first + 1))]
    return rows, columns


def startup_lines(runs: Sequence[Run]) -> list[str]:
    """The caption's table: what each run's first iterations measured."""
    rows, columns = startup_rows(runs)
    return [f"Per run: {TRAIN_LOSS} at iteration 1, its peak over iterations 1 to {ITERATIONS} "
            f"(peak_at: the iteration) and at iteration {ITERATIONS}; {GRAD_NORM} at iterations "
            f"1 to {FIRST} (blank: not logged).", "", markdown_table(rows, columns)]
