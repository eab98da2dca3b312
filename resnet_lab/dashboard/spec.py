"""A study's dashboard as plain data: which panels, drawing which W&B keys, from which runs.

``build`` makes it from the study (``studies``) and the paper's outputs as ``resnet_lab.figures``
defines them (titles, captions, each figure's panels and the nets each panel takes, the paper's
y range, the tables' rows with the paper's numbers and the rule for when they may stand beside
ours); ``views`` turns it into W&B's Report and Workspace objects.

One ``Grid`` per set of nets a panel of the paper draws (W&B filters runs per panel grid, not per
panel): Figure 1's two panels share one grid, Figure 6's three panels are three grids. Every grid
is filtered to the study's W&B group and groups its runs by ``net``: one colour and legend entry
per net, named as in the paper's legends; a line is the mean over the net's seeds, its band their
minimum to maximum: the band the local figures draw (``figures.seeds``: mean and min-max over a
net's seeds at each iteration). Two differences remain, both W&B's way of showing live runs, not
another statistic: W&B takes every run of the net as it goes (running and failed ones too; the
local figures take its finished seeds where it has any), and it aggregates over the runs that
logged each bucket of its x axis (the local figures: the iterations all of a net's seeds logged),
which differ only while a net's seeds have not all reached the same iteration. The report opens
with a ``runs`` grid: every training run of the study, one row each, with the columns of
``RUN_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wandb_workspaces import expr

from ..data.registry import DATASETS
from ..data.registry import logs_top5 as data_logs_top5
from ..figures import OUTPUTS, Run
from ..figures.captions import paper_lines
from ..figures.curves import Panel, draw_responses
from ..figures.recipes import paper_mismatches
from ..figures.runs import data_sets
from ..loggers import TRAIN_JOB_TYPE
from ..metric_names import RESPONSE_SORTED, RESPONSE_STD, RESPONSE_X, TEST_ERROR, TEST_TOP5
from ..metric_names import WANDB_STEP as STEP_KEY
from ..schedule import LrSchedule, warmup_enabled
from ..tables import markdown_table
from .studies import Study

FIGURES_JOB_TYPE = "figures"  # the W&B run that holds a study's locally drawn figures
NO_ENTITY = "<entity>"  # stands for the W&B entity where none is given (dry run, offline files)


@dataclass(frozen=True)
class Column:
    """A column of the runs table: a top-level config field, a summary key or a run attribute
    (W&B's filter names: ``State``, ``Name``), with the heading a reader knows it by."""

    section: str  # "config", "summary" or "run"
    key: str
    label: str

    def accessor(self) -> str:
        """As a W&B runs table addresses it (wandb-workspaces' ``Runset``: ``config:<key>.value``,
        ``summary:<key>``, ``run:<attribute>``)."""
        if self.section == "config":
            return f"config:{self.key}.value"
        if self.section == "run":
            return f"run:{expr.to_backend_name(self.key)}"
        return f"summary:{self.key}"


# The runs table, pinned in every run set: what a reader checks before trusting a curve. Config
# fields from ``loggers.flat_fields``, summary keys from ``loggers.FINAL_FIELDS``.
RUN_COLUMNS = (
    Column("run", "Name", "run"), Column("config", "net", "net"), Column("config", "seed", "seed"),
    Column("run", "State", "state"), Column("summary", "params", "parameters"),
    Column("summary", "test_error", "test error (%)"),
    Column("summary", "train_error", "training error (%)"),
    Column("summary", "wall_time_s", "wall time (s)"), Column("summary", "precision", "precision"),
    Column("summary", "device", "device"),
)
ORDER = ("net", "seed")  # config fields the runs tables are sorted by


@dataclass(frozen=True)
class Clause:
    """One condition of a run set's filter: a run attribute (W&B's names: Group, JobType,
    State) or, with ``config``, a top-level config field (``loggers.flat_fields``)."""

    field: str
    op: str  # "=" or "in"
    value: Any  # a tuple for "in"
    config: bool = False

    def expression(self) -> str:
        """In W&B's filter language, e.g. ``Config('net') in ['plain-20', 'plain-56']``."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{'Config' if self.config else 'Metric'}({self.field!r}) {self.op} {value!r}"


@dataclass(frozen=True)
class Chart:
    """One W&B panel. ``line``: history keys ``y`` against the history key ``x``; ``bar``: the
    summary keys ``y``. Both group the runs by net: ``aggregate`` over its seeds (± ``spread``).
    ``media``: the images logged under ``y``."""

    kind: str
    title: str
    y: tuple[str, ...]
    x: str = ""
    x_title: str = ""
    y_title: str = ""
    y_range: tuple[float | None, float | None] = (None, None)
    aggregate: str = ""
    spread: str = ""


def line(title: str, y: tuple[str, ...], x: str, x_title: str, y_title: str,
         y_range: tuple[float | None, float | None] = (None, None)) -> Chart:
    """A line chart of a net's seeds: their mean, and a band from their minimum to maximum, the
    local figures' band (``figures.seeds``)."""
    return Chart("line", title, y, x=x, x_title=x_title, y_title=y_title, y_range=y_range,
                 aggregate="mean", spread="minmax")


@dataclass(frozen=True)
class Grid:
    """Charts over one run set: the study's runs of ``nets`` (those matching ``where``)."""

    title: str
    nets: tuple[str, ...]
    where: tuple[Clause, ...]
    charts: tuple[Chart, ...]
    groupby: tuple[str, ...] = ("net",)  # config fields
    runs: int = 0  # runs it holds once the study is done: nets x seeds

    @property
    def filters(self) -> str:
        return " and ".join(c.expression() for c in self.where)


@dataclass(frozen=True)
class Section:
    """One of the paper's outputs (``figures.OUTPUTS``): its live panels, the paper's numbers
    for its nets (``paper_numbers``), and the same output drawn locally by
    ``resnet_lab.figures``."""

    output: str
    title: str
    about: str
    grids: tuple[Grid, ...]
    paper_table: str = ""  # Markdown: the paper's numbers for these nets, where they apply
    paper_note: str = ""  # which of the paper's tables they are from, or why there are none
    local_file: str = ""  # where `make <study>` / `python -m resnet_lab.figures` writes it
    local_text: str = ""  # a local table's Markdown, when it exists


@dataclass(frozen=True)
class Dashboard:
    study: str
    group: str
    entity: str  # NO_ENTITY where none was given
    project: str
    title: str  # the report's title and the workspace's name
    description: str  # the study, in a line (the report's description; publish adds its ids)
    intro: str  # Markdown: what the panels show
    method: str  # Markdown: the commands, the recipe
    nets: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: Grid  # the runs table: every training run of the study
    sections: tuple[Section, ...]
    where: tuple[Clause, ...]  # the workspace's run set: all the study's nets
    local_figures: tuple[tuple[str, str], ...] = ()  # (W&B image key, PNG path)

    def grids(self) -> list[Grid]:
        """Every grid of the report: the runs table's, then the sections'."""
        return [self.runs, *(g for s in self.sections for g in s.grids)]

    @property
    def filters(self) -> str:
        return " and ".join(c.expression() for c in self.where)

    def describe(self) -> str:
        """The report's outline and panels, as ``--dry-run`` prints them."""
        lines = [f'report "{self.title}" and workspace "{self.title}" in {self.entity}/'
                 f"{self.project}: W&B group {self.group}, nets {', '.join(self.nets)}, seeds "
                 f"{', '.join(map(str, self.seeds))}",
                 "  table of contents",
                 f"  Runs: one row per run, columns {', '.join(c.label for c in RUN_COLUMNS)}"]
        lines += _grid_lines(self.runs)
        for s in self.sections:
            lines.append(f"  {s.title}")
            for g in s.grids:
                lines += _grid_lines(g)
            if s.paper_table:
                lines.append("    + the paper's numbers for these nets (a table)")
            elif s.paper_note:
                lines.append(f"    + the paper's numbers: {s.paper_note}")
            if s.local_file:
                lines.append(f"    + drawn locally: {s.local_file}"
                             + ("" if s.local_text or _found(self, s) else " (not drawn yet)"))
        lines.append("  How the runs were made: the commands and the recipe")
        return "\n".join(lines)


def _grid_lines(g: Grid) -> list[str]:
    return ([f"    [{g.title}] runs where {g.filters}"
             + (f", one colour per {', '.join(g.groupby)}" if g.groupby else "")]
            + [f"      {_chart_line(c)}" for c in g.charts])


def _found(d: Dashboard, s: Section) -> bool:
    return any(path == s.local_file for _, path in d.local_figures)


def _chart_line(c: Chart) -> str:
    seeds = f"{c.aggregate}" + (f" ({c.spread} band)" if c.spread == "minmax" else
                                f" ± {c.spread}" if c.spread else "") + " over a net's seeds"
    if c.kind == "line":
        span = "" if c.y_range == (None, None) else f", y {c.y_range[0]:g}-{c.y_range[1]:g} %"
        return f"line '{c.title}': {', '.join(c.y)} against {c.x}, {seeds}, no smoothing{span}"
    if c.kind == "bar":
        return f"bar '{c.title}': summary {', '.join(c.y)} per net, {seeds}"
    return f"image '{c.title}': {', '.join(c.y)}"


# ---------------------------------------------------------------- from the figures' definitions


def figure_panels(output: str) -> tuple[list[Panel], tuple[float, float]]:
    """A curve figure's panels and the paper's y range (%), as ``figures.outputs`` draws it."""
    figure = OUTPUTS[output].draw
    return list(figure.panels), tuple(figure.paper_range)


def on_papers_data(r: Run) -> bool:
    """The paper's y ranges fit only its own data sets (short or synthetic runs: W&B's own)."""
    return r.data == ("cifar10" if r.family == "cifar" else "imagenet")


def logs_top5(r: Run) -> bool:
    """Whether the run logs top-5 errors."""
    return data_logs_top5(r.config["data"])


def _run_set(study: Study, nets: Sequence[str], *extra: Clause) -> tuple[Clause, ...]:
    return (Clause("Group", "=", study.group), Clause("JobType", "=", TRAIN_JOB_TYPE),
            Clause("net", "in", study.net_names(nets), config=True), *extra)


def _curve_grids(study: Study, output: str, runs: list[Run]) -> list[Grid]:
    """Figures 1, 4, 6: one grid per set of nets a panel takes (``Panel.keep``)."""
    panels, paper_range = figure_panels(output)
    y_range = paper_range if all(on_papers_data(r) for r in runs) else (None, None)
    by_nets: dict[tuple[str, ...], list[Chart]] = {}
    for p in panels:
        nets = tuple(r.net for r in runs if p.keep(r))
        if nets:  # a panel none of the study's nets belongs to (ResNet-1202 in a short study)
            by_nets.setdefault(nets, []).append(line(
                p.title, tuple(c.metrics[0] for c in p.curves), STEP_KEY, "iteration", p.ylabel,
                y_range))
    return [Grid(", ".join(c.title for c in charts), nets, _run_set(study, nets), tuple(charts),
                 runs=len(nets) * len(study.seeds))
            for nets, charts in by_nets.items()]


def _responses_grid(study: Study, runs: list[Run]) -> Grid:
    """Figure 7: the std of each layer's response, in layer order and sorted."""
    nets = tuple(r.net for r in runs)
    charts = tuple(line(title, (key,), RESPONSE_X, f"layer index ({order})", "std")
                   for title, key, order in (("original order", RESPONSE_STD, "original order"),
                                             ("sorted by magnitude", RESPONSE_SORTED, "sorted")))
    return Grid("std of layer responses", nets, _run_set(study, nets), charts,
                runs=len(nets) * len(study.seeds))


# the final errors a table's bar charts show, with the words for them
FINAL_ERRORS = {TEST_ERROR: "test error", TEST_TOP5: "top-5 test error"}


def _table_grid(study: Study, runs: list[Run]) -> Grid:
    """A table (Table 6, Table 3, the follow-up nets'): each net's final error over its finished
    seeds, as the local table counts them: the mean ± std, and the best seed; top-5 too where
    every run logs it."""
    nets = tuple(r.net for r in runs)
    keys = [k for k in FINAL_ERRORS if k == TEST_ERROR or all(logs_top5(r) for r in runs)]
    charts = tuple(chart for k in keys for chart in (
        Chart("bar", f"{FINAL_ERRORS[k]} (%): mean ± std over seeds", (k,),
              y_title=f"{FINAL_ERRORS[k]} (%)", aggregate="mean", spread="stddev"),
        Chart("bar", f"{FINAL_ERRORS[k]} (%): best seed", (k,), y_title=f"{FINAL_ERRORS[k]} (%)",
              aggregate="min")))
    finished = Clause("State", "=", "finished")  # as the local table: finished seeds only
    return Grid("final errors per net", nets, _run_set(study, nets, finished), charts,
                runs=len(nets) * len(study.seeds))


def paper_numbers(output: str, runs: Sequence[Run]) -> tuple[str, str]:
    """The paper's numbers for the nets of a section, as Markdown (a table of the paper's
    columns, one row per net that has any), and a line saying which table they are from or why
    there are none. They come from the table output that covers most of these nets (the
    section's own where it is a table): its rows (``Output.table``) set the paper's numbers
    beside a net only where its data set and recipe are the paper's, and its caption's line
    (``captions.paper_lines``) says so."""
    tables = [(name, out) for name, out in OUTPUTS.items() if out.table is not None]
    name, table = max(tables, key=lambda t: (sum(t[1].keep(r) for r in runs), t[0] == output))
    mine = [r for r in runs if table.keep(r)]
    if not mine:
        return "", f"none: no paper table covers these nets on {data_sets(runs)}."
    rows, columns = table.table(mine)
    paper = [c for c in columns if c.startswith("paper")]
    kept: dict[str, dict] = {}
    for row in rows:  # Table 3's rows are runs: one per net
        if any(row.get(c) is not None for c in paper):
            kept.setdefault(row["net"], row)
    name = table.title.split(":")[0]
    if kept:
        text = markdown_table(list(kept.values()), ["net", *paper])
        return (f"The paper's numbers for these nets ({name}):\n\n{text}",
                " ".join(paper_lines(table, mine)))
    if table.paper is not None and any(paper_mismatches(r, table.paper.recipe) for r in mine):
        return "", " ".join(paper_lines(table, mine))  # why not: the data set or recipe differ
    return "", (f"none: the papers' tables ({name}) have no numbers for "
                f"{', '.join(dict.fromkeys(r.net for r in mine))} on {data_sets(mine)}.")


def _local(study: Study, output: str, figures_dir: Path) -> tuple[str, str, Grid | None]:
    """Where ``resnet_lab.figures`` draws this output from the local records, the table's text
    when it is a table that exists, and the grid showing the figure once publish uploads it."""
    table = OUTPUTS[output].table is not None
    path = figures_dir / study.name / f"{output}.{'md' if table else 'png'}"
    if table:
        return str(path), path.read_text() if path.is_file() else "", None
    if not path.is_file():
        return str(path), "", None
    chart = Chart("media", f"{output}.png, drawn locally", (local_key(output),))
    where = (Clause("Group", "=", study.group), Clause("JobType", "=", FIGURES_JOB_TYPE))
    return str(path), "", Grid("drawn locally from the run records", (), where, (chart,), groupby=())


def local_key(output: str) -> str:
    """The W&B image key of an output's locally drawn PNG."""
    return f"local/{output}"


def _section(study: Study, output: str, figures_dir: Path) -> Section:
    out = OUTPUTS[output]
    runs = out.drawn_from(study.runs)
    if out.table is not None:
        grids = [_table_grid(study, runs)]
    elif out.draw is draw_responses:
        grids = [_responses_grid(study, runs)]
    else:
        grids = _curve_grids(study, output, runs)
    paper_table, paper_note = paper_numbers(output, runs)
    local_file, local_text, local_grid = _local(study, output, figures_dir)
    if local_grid is not None:
        grids.append(local_grid)
    return Section(output, out.title, out.about, tuple(grids), paper_table, paper_note,
                   local_file, local_text)


def _runs_grid(study: Study) -> Grid:
    """Every training run of the study, one row each (``RUN_COLUMNS``), and what each net's
    runs took."""
    chart = Chart("bar", "wall time (s) per net: mean over seeds", ("wall_time_s",),
                  y_title="wall time (s)", aggregate="mean", spread="minmax")
    return Grid("runs", study.nets, _run_set(study, study.nets), (chart,), groupby=(),
                runs=len(study.nets) * len(study.seeds))


# ---------------------------------------------------------------- the text blocks


def recipe(study: Study) -> str:
    """The training recipe the study's configs give, in a few lines of Markdown."""
    c = study.runs[0].config
    d, o, t = c["data"], c["optim"], c["trainer"]
    aug = d.get("augment") or {}
    augment = (f"{aug.get('pad', 0)}-pixel padding and random crop"
               + (", horizontal flip" if aug.get("flip") else "")) if aug.get("enabled") else "none"
    schedules: dict[str, list[str]] = {}
    for r in study.runs:
        warm = warmup_enabled(r.config["optim"]["warmup"]["enabled"], r.family, r.depth)
        text = LrSchedule(r.config["optim"], warm).describe(r.config["trainer"]["max_steps"])
        schedules.setdefault(text, []).append(r.net)
    lr = [f"  - {', '.join(nets)}: {text}" for text, nets in schedules.items()]
    return "\n".join([
        f"- data: {DATASETS[study.runs[0].data].title}, batch {d['batch_size']}"
        + (f", {d['val_size']} training images held out for validation" if d.get("val_size") else "")
        + f"; augmentation: {augment}; normalisation: {d.get('normalize', 'none')}",
        f"- SGD, momentum {o['momentum']:g}, weight decay {o['weight_decay']:g}; learning rate:",
        *lr,
        f"- evaluation every {t['eval_every']} iterations; seeds {', '.join(map(str, study.seeds))}",
    ])


def figures_command(study: str, output: str, figures_dir: str | Path) -> str:
    """How `make <study>` draws an output from the study's local run records."""
    return (f"python -m resnet_lab.figures {output} --sweep outputs/sweeps/{study} "
            f"--out {Path(figures_dir) / study}")


def dashboard_command(study: str, entity: str, project: str) -> str:
    """The command that makes (and updates) this report."""
    return (f"python -m resnet_lab.dashboard {study} --entity {entity}"
            + (f" --project {project}" if project != "resnet_lab" else ""))


def _intro(study: Study, entity: str, project: str) -> str:
    return (
        f"**{study.title}.** The runs of W&B group `{study.group}` ({entity}/{project}), drawn "
        f"live. Every panel groups the runs by net: one colour per net "
        f"({', '.join(study.nets)}), named as in the paper's legends; a line is the mean over "
        f"the net's seeds and its band their minimum to maximum, without smoothing. The local "
        f"figure at the end of each section draws the same lines and bands from the records of "
        f"each net's finished seeds (a net with one seed: that run, as the paper's single-run "
        f"curves), so the two agree once every run of the study has finished. Beside "
        f"each output stand the paper's numbers for its nets, where the runs' data set and recipe "
        f"are the paper's.")


def _method(study: Study, entity: str, project: str, figures_dir: str | Path) -> str:
    drawn = "; ".join(f"`{figures_command(study.name, o, figures_dir)}`" for o in study.outputs)
    return "\n".join([
        f"- trained by: `python run.py -m experiment={study.name}` "
        f"(conf/experiment/{study.name}.yaml; logger=wandb)",
        f"- drawn locally by: {drawn}",
        f"- this report: `{dashboard_command(study.name, entity, project)}`",
        "",
        "Recipe:",
        "",
        recipe(study),
    ])


def build(study: Study, entity: str | None = None, project: str = "resnet_lab",
          figures_dir: str | Path = "outputs/figures") -> Dashboard:
    """The dashboard of ``study`` for the W&B project ``entity/project`` (``NO_ENTITY`` stands
    for a missing entity); local figures are looked up under ``figures_dir/<study>/``."""
    entity = entity or NO_ENTITY
    sections = tuple(_section(study, o, Path(figures_dir)) for o in study.outputs)
    local = tuple((local_key(s.output), s.local_file) for s in sections
                  if any(c.kind == "media" for g in s.grids for c in g.charts))
    return Dashboard(
        study=study.name, group=study.group, entity=entity, project=project,
        title=f"resnet_lab: {study.name}", description=study.title,
        intro=_intro(study, entity, project), method=_method(study, entity, project, figures_dir),
        nets=study.nets, seeds=study.seeds, runs=_runs_grid(study), sections=sections,
        where=_run_set(study, study.nets), local_figures=local)
