"""``python -m resnet_lab.figures NAME --sweep DIR [--sweep DIR ...] --out DIR``: the paper's
figures and tables drawn from run records, local run directories and/or W&B groups
(``--wandb ENTITY/PROJECT --group GROUP [--group GROUP ...]``), merged.

NAME is figure1, figure4, figure6, figure7, table6, shortcuts (Table 3), or all (every one whose
runs are present); or, only when named, not in all: switches, an ablation sweep's runs side by
side, each with the config keys in which it differs from the others, its final errors and the
early peak of its training loss; startup, each run's training loss and gradient norm over its
first 20 iterations, one line per run named by those keys. Figures are saved as PNG and PDF,
tables as CSV and Markdown, and every output gets ``<name>.md``: what is plotted and on which
images, the sources, the runs with their final errors and devices, and the paper's nets that are
missing or did not finish.

A study run in pieces (different machines, different sweep directories or W&B groups) is drawn
from all of them at once. A run found in more than one source (same net, seed and recipe) is
used once and the copies are named in the captions; runs of different recipes are never mixed
in one curve or table row, nor in one output unless ``--mixed-recipes`` (``--where KEY=VALUE``
keeps the runs of one recipe).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..errors import ResnetLabError
from .outputs import ON_REQUEST, OUTPUTS, output, render
from .recipes import deduplicate, matches, parse_where
from .runs import SERIES, FiguresError, load_sweep, load_wandb


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m resnet_lab.figures",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=[*OUTPUTS, *ON_REQUEST, "all"],
                   help="the output; all: every one of the paper's whose runs are present "
                        "(switches, startup only when named)")
    p.add_argument("--sweep", action="append", default=[], metavar="DIR",
                   help="a directory of run directories, searched recursively (repeatable)")
    p.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read the runs of --group from W&B")
    p.add_argument("--group", action="append", default=[],
                   help="W&B group (the study, e.g. figure6; repeatable)")
    p.add_argument("--out", default="outputs/figures", help="output directory (%(default)s)")
    p.add_argument("--data", help="only runs on this data set (cifar10, fashion_mnist, ...)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="only runs whose config has this value, e.g. data.val_size=0 (repeatable)")
    p.add_argument("--mixed-recipes", action="store_true",
                   help="draw runs of different recipes in one output (never in one curve or "
                        "row); the caption names the differences")
    p.add_argument("--smooth", type=int, default=1, metavar="N",
                   help="trailing mean of N training-error points (default: none)")
    p.add_argument("--format", default="png,pdf", help="figure formats (%(default)s)")
    p.add_argument("--dpi", type=int, default=150)
    args = p.parse_args(argv)
    if not args.sweep and not args.wandb:
        p.error("give --sweep DIR or --wandb ENTITY/PROJECT --group GROUP")
    if args.wandb and not args.group:
        p.error("--wandb needs --group")
    if args.group and not args.wandb:
        p.error("--group needs --wandb ENTITY/PROJECT")
    formats = args.format.split(",")
    if unknown := set(formats) - set(Figure().canvas.get_supported_filetypes()):
        p.error(f"--format: unknown {', '.join(sorted(unknown))}")
    try:
        where = parse_where(args.where)
        names = list(OUTPUTS) if args.name == "all" else [args.name]
        runs = [r for d in args.sweep for r in load_sweep(d)]
        sources = [f"sweep {d}" for d in args.sweep]
        if args.wandb:
            series = [*SERIES, *{m: None for n in names for m in output(n).series}]
            runs += load_wandb(args.wandb, args.group, series=series)
            sources += [f"W&B {args.wandb} group {g}" for g in args.group]
        runs = [r for r in runs if args.data in (None, r.data) and matches(r, where)]
        if not runs:
            raise FiguresError(f"no runs in {'; '.join(sources)}"
                               + (f" on {args.data}" if args.data else "")
                               + (f" with {' '.join(args.where)}" if where else "")
                               + " (a run directory holds config.yaml and metrics.csv)")
        runs, duplicates = deduplicate(runs)
        for _, note in duplicates:
            print(f"duplicate: {note}")
        written = []
        for name in names:
            try:
                written += render(name, runs, args.out, sources, formats, args.smooth, args.dpi,
                                  notes=[n for r, n in duplicates if output(name).keep(r)],
                                  mixed_recipes=args.mixed_recipes)
            except FiguresError as e:
                if args.name != "all":
                    raise
                print(f"{e}; skipped")  # "all" draws what the records allow
        if not written:
            raise FiguresError(f"nothing to draw from the {len(runs)} runs in "
                               f"{'; '.join(sources)}")
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
