"""A ``Dashboard`` as W&B's own objects (``wandb-workspaces``): the report, where every grid has
its own run set (the paper's panels, each with its nets), and the saved workspace view, where one
run set (the whole study) feeds a section per output. Building them needs no network; saving
them (``publish``) does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws

from ..loggers import STEP_KEY
from .spec import Chart, Dashboard, Grid, Section, figures_command

WIDTH = 24  # a report's or workspace section's grid is 24 units wide
HEIGHT = 8


def _panel(c: Chart, layout: wr.Layout, runs: int) -> wr.interface.Panel:
    limit = max(runs, 10)  # W&B draws the first 10 runs of a panel unless told more
    if c.kind == "line":
        return wr.LinePlot(title=c.title, x=c.x, y=list(c.y), range_y=c.y_range,
                           title_x=c.x_title, title_y=c.y_title, max_runs_to_show=limit,
                           layout=layout)
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


def _grid(d: Dashboard, g: Grid) -> wr.PanelGrid:
    height = 14 if any(c.kind == "media" for c in g.charts) else HEIGHT
    runset = wr.Runset(entity=d.entity, project=d.project, name=g.title, filters=g.filters,
                       groupby=[f"config.{f}" for f in g.groupby])
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
    if s.paper_table:
        blocks.append(wr.MarkdownBlock(s.paper_table))
    if s.local_text:
        blocks.append(wr.MarkdownBlock(f"Drawn locally ({s.local_file}):\n\n{s.local_text}"))
    elif not any(c.kind == "media" for g in s.grids for c in g.charts):
        blocks.append(wr.MarkdownBlock(
            f"Not drawn locally yet ({s.local_file} is missing): draw it from the run records with "
            f"`{figures_command(d.study, s.output, Path(s.local_file).parent.parent)}`, then run "
            f"the dashboard command again to show it here."))
    return blocks


def report(d: Dashboard) -> wr.Report:
    """A new report holding the dashboard (``publish`` copies its blocks into an existing one)."""
    blocks: list = [wr.MarkdownBlock(d.intro)]
    for s in d.sections:
        blocks += _section_blocks(d, s)
    return wr.Report(entity=d.entity, project=d.project, title=d.title,
                     description=d.description, blocks=blocks, width="fluid")


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
    """A new saved view of the study (``publish`` copies its content into an existing one)."""
    runs = max((g.runs for g in d.grids()), default=0)
    sections = []
    for s in d.sections:
        charts = _workspace_charts(s)
        panels = [_panel(c, lay, runs) for c, lay in zip(charts, _layouts(len(charts)), strict=True)]
        sections.append(ws.Section(name=s.title, panels=panels, is_open=True))
    w = ws.Workspace(
        entity=d.entity, project=d.project, name=d.title, sections=sections,
        settings=ws.WorkspaceSettings(x_axis=STEP_KEY, max_runs=max(runs, 10)),
        runset_settings=ws.RunsetSettings(filters=d.filters, groupby=[ws.Config("net")]))
    # a fixed view name, not the random one save() would pick, is what lets a later run find
    # this view again; "nw-<name>-v" is how wandb-workspaces stores the URL's ``nw=<name>``
    w._internal_name = f"nw-{d.view}-v"
    return w
