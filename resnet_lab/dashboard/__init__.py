"""Each study's W&B dashboard: a report and a saved workspace view whose panels are the paper's
figures and tables, drawn live from the study's W&B group; ``python -m resnet_lab.dashboard``
(see ``cli``).

    studies   a study read from conf/experiment/ (its group, nets, seeds, the outputs it mirrors)
    spec      the dashboard as plain data: sections, grids (run sets), charts (W&B panels)
    views     that data as wandb-workspaces' Report and Workspace objects
    publish   create or update them on W&B, found again by title / view name
    cli       the command line

What the panels read (flat config fields, metrics against the iteration, Figure 7's series,
final values in the summary) is logged by ``resnet_lab.loggers``.
"""

from .cli import main
from .spec import Chart, Clause, Dashboard, Grid, Section, build
from .studies import DashboardError, Study, load_study

__all__ = ["Chart", "Clause", "Dashboard", "DashboardError", "Grid", "Section", "Study", "build",
           "load_study", "main"]
