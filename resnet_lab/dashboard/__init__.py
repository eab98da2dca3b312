"""Each study's W&B dashboard: a report and a saved workspace view whose panels are the paper's
figures and tables, drawn live from the study's W&B group; ``python -m resnet_lab.dashboard``
(see ``cli``).

    studies   a study read from conf/experiment/ (its group, nets, seeds, the outputs it mirrors)
    spec      the dashboard as plain data: sections, grids (run sets), charts (W&B panels), the
              runs table's columns, the paper's numbers beside each output
    views     that data as wandb-workspaces' Report and Workspace objects, and as the wire format
              their save() sends (written offline)
    ids       the W&B ids the suite made (report, workspace, figures run) and where they are kept
    publish   create, or update by those ids, what the suite made on W&B
    cli       the command line

What the panels and the runs tables read (flat config fields, metrics against the iteration,
Figure 7's series, final values in the summary) is logged by ``resnet_lab.loggers``.
"""

from .cli import main
from .spec import Chart, Clause, Column, Dashboard, Grid, Section, build
from .studies import DashboardError, Study, load_study

__all__ = ["Chart", "Clause", "Column", "Dashboard", "DashboardError", "Grid", "Section", "Study",
           "build", "load_study", "main"]
