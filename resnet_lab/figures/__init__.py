"""The paper's figures (1, 4, 6, 7) and tables (6, and 3: shortcuts), and an ablation sweep's
table (switches) and start-up figure (startup), drawn from run records, a sweep directory on disk or a W&B group;
``python -m resnet_lab.figures`` (see ``cli``).

    runs      the Run record, from disk (load_sweep) or W&B (load_wandb); one run per net (pick)
    seeds     a net's seeds as one line and min-max band (averaged, band) and one table cell
              (stats: n, mean, sample std, best; "best (mean ± std)")
    recipes   a run's recipe; duplicates across sources; mixed recipes refused; the paper's recipes
    curves    drawing: error against iterations, layer responses, axes helpers
    tables    Table 6 and Table 3 rows, the parameter count of a run
    switches  an ablation sweep's runs side by side: their switches (config keys), early loss peak
    startup   each run's loss and gradient norm over its first iterations, named by its switches
    captions  the ``<name>.md`` beside every output: data, which images each curve's points are
    output    the Output type: the runs it takes, how it is drawn, its caption's sections, the
              paper's table beside it, its charts on a dashboard
    outputs   OUTPUTS, each output's Output; draw, render
    cli       the command line

Unfinished runs (failed, running, interrupted) are drawn as far as they logged, marked in the
legend and named in the caption; the choices the paper leaves open are stated in the modules
that make them (``seeds``: a net's line over its seeds, the iterations it averages, its band;
``outputs``: which runs a figure draws; ``curves``: x unit and y range).
"""

from .captions import caption, run_rows
from .cli import main
from .curves import draw_curves, draw_responses, moving_average, x_label, x_unit, y_range
from .outputs import ON_REQUEST, OUTPUTS, Output, draw, output, render, select
from .runs import SERIES, FiguresError, Run, load_sweep, load_wandb, pick
from .seeds import Band, Stats, averaged, band, by_net, stats
from .switches import early_peak, find_switches, switch_rows
from .tables import params, shortcut_rows, table6_rows

__all__ = [
    "ON_REQUEST", "OUTPUTS", "SERIES", "Band", "FiguresError", "Output", "Run", "Stats",
    "averaged", "band", "by_net", "caption", "draw", "draw_curves", "draw_responses",
    "early_peak", "find_switches", "load_sweep", "load_wandb", "main", "moving_average",
    "output", "params", "pick", "render", "run_rows", "select", "shortcut_rows", "stats",
    "switch_rows", "table6_rows", "x_label", "x_unit", "y_range",
]
