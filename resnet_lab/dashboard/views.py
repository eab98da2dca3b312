"""A ``Dashboard`` as W&B's own objects (``wandb-workspaces``): the report, where every grid has
its own run set (the paper's panels, each with its nets), and the saved workspace view, where one
run set (the whole study) feeds a section per output; and both in W&B's own wire format, as
``save()`` would send them (``report_wire``, ``workspace_wire``), which needs no network.

Private names of wandb-workspaces used here, each because the library has no public way:
``Report._to_model`` and ``Workspace._to_model`` (the only serialisation; ``save()`` calls them
and sends their dump) and ``_from_model`` (the only way back from a wire file; ``from_url``
calls it), its ``internal`` models (``internal.Project`` for the run sets' project,
``ReportViewspec`` and ``View`` to read a wire file). ``tests/test_dashboard.py``
(``test_the_private_names_we_rely_on``) fails when the library changes them.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
from wandb_workspaces.reports.v2 import internal as report_models
from wandb_workspaces.workspaces import internal as workspace_models

from ..metric_names import WANDB_STEP as STEP_KEY
from .ids import SuiteIds
from .spec import ORDER, RUN_COLUMNS, Chart, Dashboard, Grid, Section, figures_command

WIDTH = 24  # a report's or workspace section's grid is 24 units wide
HEIGHT = 8
# Stands for the project's internal id in the offline files: Report.save() looks it up on the
# server (Runset._to_model) and sends it in every run set.
PROJECT_ID = "<project id: looked up on the server by Report.save()>"
# No smoothing anywhere: the local figures draw the logged points (the workspace's and every
# section's default; each line panel says so itself too, since a report grid has no setting).
NO_SMOOTHING = dict(smoothing_type="none", smoothing_weight=0)


def _panel(c: Chart, layout: wr.Layout, runs: int) -> wr.interface.Panel:
    limit = max(runs, 10)  # W&B draws the first 10 runs of a panel unless told more
    if c.kind == "line":
        return wr.LinePlot(title=c.title, x=c.x, y=list(c.y), range_y=c.y_range,
                           title_x=c.x_title, title_y=c.y_title, max_runs_to_show=limit,
                           groupby=wr.Config("net"), groupby_aggfunc=c.aggregate,
                           groupby_rangefunc=c.spread, smoothing_type="none",
                           smoothing_factor=0, layout=layout)
    if c.kind == "bar":
        return wr.BarPlot(title=c.title, metrics=[wr.SummaryMetric(k) for k in c.y],
                          orientation="v", groupby=wr.Config("net"), groupby_aggfunc=c.aggregate,
                          groupby_rangefunc=c.spread or None, title_y=c.y_title,
                          max_runs_to_show=limit, layout=layout)
    return wr.MediaBrowser(title=c.title, media_keys=list(c.y), num_columns=1, layout=layout)


def _layouts(n: int, height: int = HEIGHT) -> list[wr.Layout]:
    """Side by side, two to a row (one chart: the full width)."""
    w = WIDTH if n == 1 else WIDTH // 2
    return [wr.Layout(x=(i % 2) * w, y=(i // 2) * height, w=w, h=height) for i in range(n)]


def _columns() -> list[str]:
    return [c.accessor() for c in RUN_COLUMNS]


def _order() -> list[wr.OrderBy]:
    return [wr.OrderBy(wr.Config(key), ascending=True) for key in ORDER]


def _grid(d: Dashboard, g: Grid) -> wr.PanelGrid:
    height = 14 if any(c.kind == "media" for c in g.charts) else HEIGHT
    runset = wr.Runset(entity=d.entity, project=d.project, name=g.title, filters=g.filters,
                       groupby=[f"config.{f}" for f in g.groupby], order=_order(),
                       pinned_columns=_columns(), lock_columns=True)
    panels = [_panel(c, lay, g.runs) for c, lay in zip(g.charts, _layouts(len(g.charts), height),
                                                       strict=True)]
    return wr.PanelGrid(runsets=[runset], panels=panels)


def _section_blocks(d: Dashboard, s: Section) -> list:
    about = s.about
    if any(c.kind == "line" and len(c.y) > 1 for g in s.grids for c in g.charts):
        # the local figure tells training from test error by line style; W&B styles lines itself
        about += (" In the live panels below, W&B chooses the line styles: its legend and tooltip "
                  "name each series (net and metric).")
    blocks: list = [wr.H2(s.title), wr.MarkdownBlock(about)]
    for g in s.grids:
        if len(s.grids) > 1:
            blocks.append(wr.H3(g.title))
        blocks.append(_grid(d, g))
    if s.paper_table or s.paper_note:
        blocks.append(wr.MarkdownBlock("\n\n".join(t for t in (s.paper_table, s.paper_note) if t)))
    if s.local_text:
        blocks.append(wr.MarkdownBlock(f"Drawn locally ({s.local_file}):\n\n{s.local_text}"))
    elif not any(c.kind == "media" for g in s.grids for c in g.charts):
        blocks.append(wr.MarkdownBlock(
            f"Not drawn locally yet ({s.local_file} is missing): draw it from the run records with "
            f"`{figures_command(d.study, s.output, Path(s.local_file).parent.parent)}`, then run "
            f"the dashboard command again to show it here."))
    return blocks


def description(d: Dashboard, ids: SuiteIds | None = None) -> str:
    """The report's description: the study, and the line with the suite's ids (``ids``)."""
    return f"{d.description}.\n{(ids or SuiteIds(d.study)).marker()}"


def report(d: Dashboard, ids: SuiteIds | None = None) -> wr.Report:
    """A new report holding the dashboard (``publish`` copies its content into the suite's
    existing one); ``ids``: what the suite made before, named in the description."""
    runs = ("One row per training run of the study, sorted by net and seed; the chart: the wall "
            "time of each net's runs. The final values are the run record's (summary.json).")
    method = d.method
    if ids is not None and ids.workspace_url:
        method += f"\n\nThe study's workspace (every net in one run set): {ids.workspace_url}"
    blocks: list = [wr.MarkdownBlock(d.intro), wr.TableOfContents(), wr.H2("Runs"),
                    wr.MarkdownBlock(runs), _grid(d, d.runs)]
    for s in d.sections:
        blocks += _section_blocks(d, s)
    blocks += [wr.H2("How the runs were made"), wr.MarkdownBlock(method)]
    return wr.Report(entity=d.entity, project=d.project, title=d.title,
                     description=description(d, ids), blocks=blocks, width="fluid")


def _workspace_charts(s: Section) -> list[Chart]:
    """A section's charts without repeats: the workspace has one run set, so Figure 6's three
    grids (plain, ResNet ≤ 110, ≥ 110) become one chart of all the study's nets, titled by what
    it draws rather than by the paper's panel."""
    grids = [g for g in s.grids if all(c.kind != "media" for c in g.charts)]  # not the local figure
    seen: dict[tuple, Chart] = {}
    for g in grids:
        for c in g.charts:
            title = c.title if len(grids) == 1 else f"all nets: {', '.join(c.y)}"
            seen.setdefault((c.kind, c.x, c.y, c.aggregate), replace(c, title=title))
    return list(seen.values())


def workspace(d: Dashboard) -> ws.Workspace:
    """A new saved view of the study (``publish`` copies its content into the suite's existing
    one); ``save()`` names it."""
    runs = max((g.runs for g in d.grids()), default=0)
    sections = []
    for name, charts in [("Runs", list(d.runs.charts)),
                         *((s.title, _workspace_charts(s)) for s in d.sections)]:
        panels = [_panel(c, lay, runs) for c, lay in zip(charts, _layouts(len(charts)), strict=True)]
        sections.append(ws.Section(name=name, panels=panels, is_open=True,
                                   panel_settings=ws.SectionPanelSettings(x_axis=STEP_KEY,
                                                                          **NO_SMOOTHING)))
    return ws.Workspace(
        entity=d.entity, project=d.project, name=d.title, sections=sections,
        settings=ws.WorkspaceSettings(x_axis=STEP_KEY, max_runs=max(runs, 10), **NO_SMOOTHING),
        runset_settings=ws.RunsetSettings(
            filters=d.filters, groupby=[ws.Config("net")], pinned_columns=_columns(),
            order=[ws.Ordering(ws.Config(key), ascending=True) for key in ORDER]))


# ---------------------------------------------------------------- the wire format, offline


def report_wire(report: wr.Report) -> dict:
    """``report`` as ``Report.save()`` sends it (display name, description, project, spec), made
    without the network: its run sets' project id, which save() looks up, is ``PROJECT_ID``."""
    offline = copy.deepcopy(report)
    grids = [b for b in offline.blocks if isinstance(b, wr.PanelGrid)]
    projects = [(rs.entity, rs.project) for g in grids for rs in g.runsets]
    for g in grids:
        for rs in g.runsets:
            rs.entity = rs.project = ""  # an unset project is not looked up
    model = offline._to_model()  # private: the library's only serialisation (see the module doc)
    sets = [rs for b in model.spec.blocks if isinstance(b, report_models.PanelGrid)
            for rs in b.metadata.run_sets]
    for rs, (entity, project) in zip(sets, projects, strict=True):
        if entity and project:
            rs.project = report_models.Project(entity_name=entity, name=project, id=PROJECT_ID)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def workspace_wire(workspace: ws.Workspace) -> dict:
    """``workspace`` as ``Workspace.save()`` sends it (a new view has no name yet: save() gives
    it one)."""
    return workspace._to_model().model_dump(mode="json", by_alias=True, exclude_none=True)


def report_from_wire(data: dict) -> wr.Report:
    """A report file read back through the library's own model, as ``Report.from_url`` reads a
    saved report (raises the model's ValidationError where it rejects the content)."""
    return wr.Report._from_model(report_models.ReportViewspec.model_validate(data))


def workspace_from_wire(data: dict) -> ws.Workspace:
    """A workspace file read back through the library's own model, as ``Workspace.from_url``."""
    return ws.Workspace._from_model(workspace_models.View.model_validate(data))
