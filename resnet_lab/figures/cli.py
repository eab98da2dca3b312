"""``python -m resnet_lab.figures NAME --sweep DIR [--sweep DIR ...] --out DIR``: the paper's
figures and tables drawn from run records, local run directories or a W&B group
(``--wandb ENTITY/PROJECT --group GROUP``).

NAME is figure1, figure4, figure6, figure7, table6, shortcuts (Table 3), or all (every one whose
runs are present). Figures are saved as PNG and PDF, tables as CSV and Markdown, and every output
gets ``<name>.md``: what is plotted, the sources, the runs with their final errors and devices,
and the paper's nets that are missing or did not finish.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from matplotlib.figure import Figure

from ..errors import ResnetLabError
from .outputs import OUTPUTS, render
from .runs import FiguresError, load_sweep, load_wandb


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
                print(f"{e}; skipped")  # "all" draws what the records allow
        if not written:
            raise FiguresError(f"nothing to draw from the {len(runs)} runs in "
                               f"{'; '.join(sources)}")
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
