"""A study's dashboard as plain data: which panels, drawing which W&B keys, from which runs.

``build`` makes it from the study (``studies``) and the paper's outputs as ``resnet_lab.figures``
defines them (titles, captions, each figure's panels and the nets each panel takes, the paper's
y range and numbers); ``views`` turns it into W&B's Report and Workspace objects; without a W&B
login it is what the command saves as JSON.

One ``Grid`` per set of nets a panel of the paper draws (W&B filters runs per panel grid, not per
panel): Figure 1's two panels share one grid, Figure 6's three panels are three grids. Every grid
is filtered to the study's W&B group and groups its runs by ``net``: one colour and legend entry
per net, named as in the paper's legends; a net's seeds are averaged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import tables
from ..data.registry import DATASETS
from ..figures import OUTPUTS, Run
from ..figures.curves import Panel
from ..figures.outputs import CurveFigure
from ..loggers import RESPONSE_SORTED, RESPONSE_STD, RESPONSE_X, STEP_KEY, TRAIN_JOB_TYPE
from ..schedule import LrSchedule, warmup_enabled
from .studies import Study

FIGURES_JOB_TYPE = "figures"  # the W&B run that holds a study's locally drawn figures


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
    summary keys ``y`` per net, its seeds combined by ``aggregate`` (± ``spread``); ``media``:
    the images logged under ``y``."""

    kind: str
    title: str
    y: tuple[str, ...]
    x: str = ""
    x_title: str = ""
    y_title: str = ""
    y_range: tuple[float | None, float | None] = (None, None)
    aggregate: str = ""
    spread: str = ""


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
    where it has a table, and the same output drawn locally by ``resnet_lab.figures``."""

    output: str
    title: str
    about: str
    grids: tuple[Grid, ...]
    paper_table: str = ""  # Markdown
    local_file: str = ""  # where `make <study>` / `python -m resnet_lab.figures` writes it
    local_text: str = ""  # a local table's Markdown, when it exists


@dataclass(frozen=True)
class Dashboard:
    study: str
    group: str
    entity: str
    project: str
    title: str  # the report's title and the workspace's name: how a later run finds them
    description: str
    intro: str  # Markdown: the commands, the recipe
    nets: tuple[str, ...]
    seeds: tuple[int, ...]
    sections: tuple[Section, ...]
    view: str  # the saved workspace's view name (the ``nw=`` of its URL)
    where: tuple[Clause, ...]  # the workspace's run set: all the study's nets
    local_figures: tuple[tuple[str, str], ...] = ()  # (W&B image key, PNG path)

    def grids(self) -> list[Grid]:
        return [g for s in self.sections for g in s.grids]

    @property
    def filters(self) -> str:
        return " and ".join(c.expression() for c in self.where)

    def keys(self) -> dict[str, set[str]]:
        """Every W&B key the panels read, by where a run keeps it: ``history`` (logged series,
        x-axes included), ``summary``, ``config`` (filters and grouping), ``run`` (attributes)
        and ``media``."""
        out: dict[str, set[str]] = {k: set() for k in ("history", "summary", "config", "run", "media")}
        for c in self.where:
            out["config" if c.config else "run"].add(c.field)
        for g in self.grids():
            out["config"].update(g.groupby)
            for c in g.where:
                out["config" if c.config else "run"].add(c.field)
            for ch in g.charts:
                kind = {"line": "history", "bar": "summary", "media": "media"}[ch.kind]
                out[kind].update(ch.y)
                if ch.x:
                    out["history"].add(ch.x)
        return out

    def to_json(self) -> str:
        spec = asdict(self)
        for s, section in zip(spec["sections"], self.sections, strict=True):
            for g, grid in zip(s["grids"], section.grids, strict=True):
                g["filters"] = grid.filters  # as W&B shows it
        spec["filters"] = self.filters
        return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"

    def describe(self) -> str:
        """The panels, as ``--dry-run`` prints them."""
        lines = [f'report "{self.title}" and workspace view "{self.view}" in '
                 f"{self.entity}/{self.project}: W&B group {self.group}, nets {', '.join(self.nets)}"
                 f", seeds {', '.join(map(str, self.seeds))}"]
        for s in self.sections:
            lines.append(f"  {s.title}")
            for g in s.grids:
                lines.append(f"    [{g.title}] runs where {g.filters}"
                             + (f", one colour per {', '.join(g.groupby)}" if g.groupby else ""))
                lines += [f"      {_chart_line(c)}" for c in g.charts]
            if s.paper_table:
                lines.append("    + the paper's numbers for these nets (a table)")
            if s.local_file:
                lines.append(f"    + drawn locally: {s.local_file}"
                             + ("" if s.local_text or _found(self, s) else " (not drawn yet)"))
        return "\n".join(lines)


def _found(d: Dashboard, s: Section) -> bool:
    return any(path == s.local_file for _, path in d.local_figures)


def _chart_line(c: Chart) -> str:
    if c.kind == "line":
        span = "" if c.y_range == (None, None) else f", y {c.y_range[0]:g}-{c.y_range[1]:g} %"
        return f"line '{c.title}': {', '.join(c.y)} against {c.x}{span}"
    if c.kind == "bar":
        how = c.aggregate + (f" ± {c.spread}" if c.spread else "")
        return f"bar '{c.title}': summary {', '.join(c.y)} per net, {how} over seeds"
    return f"image '{c.title}': {', '.join(c.y)}"


# ---------------------------------------------------------------- from the figures' definitions


def figure_panels(output: str) -> tuple[list[Panel], tuple[float, float]]:
    """A curve figure's panels and the paper's y range (%), as ``figures.outputs`` draws it."""
    figure = OUTPUTS[output].draw
    return list(figure.panels), tuple(figure.paper_range)


def on_papers_data(r: Run) -> bool:
    """The paper's y ranges fit only its own data sets (short or synthetic runs: W&B's own)."""
    return r.data == ("cifar10" if r.family == "cifar" else "imagenet")


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
            by_nets.setdefault(nets, []).append(Chart(
                "line", p.title, tuple(c.metrics[0] for c in p.curves), x=STEP_KEY,
                x_title="iteration", y_title=p.ylabel, y_range=y_range))
    return [Grid(", ".join(c.title for c in charts), nets, _run_set(study, nets), tuple(charts),
                 runs=len(nets) * len(study.seeds))
            for nets, charts in by_nets.items()]


def _responses_grid(study: Study, runs: list[Run]) -> Grid:
    """Figure 7: the std of each layer's response, in layer order and sorted."""
    nets = tuple(r.net for r in runs)
    charts = tuple(Chart("line", title, (key,), x=RESPONSE_X, x_title=f"layer index ({order})",
                         y_title="std")
                   for title, key, order in (("original order", RESPONSE_STD, "original order"),
                                             ("sorted by magnitude", RESPONSE_SORTED, "sorted")))
    return Grid("std of layer responses", nets, _run_set(study, nets), charts,
                runs=len(nets) * len(study.seeds))


def _table_grid(study: Study, output: str, runs: list[Run]) -> tuple[Grid, str]:
    """A table (Tables 6 and 3, the follow-up nets'): each net's final values over its finished
    seeds, as the output's summary charts them, and the paper's columns of its rows."""
    out = OUTPUTS[output]
    nets = tuple(r.net for r in runs)
    charts = tuple(Chart("bar", s.title, (s.metric,), y_title=s.y_title, aggregate=s.aggregate,
                         spread=s.spread)
                   for s in out.summary if all(s.when(r) for r in runs))
    rows, table_columns = out.table(runs)
    # the paper's columns the rows have (a table leaves out those no row has a number in)
    columns = [c for c in out.paper_columns if c in table_columns or not c.startswith("paper")]
    finished = Clause("State", "=", "finished")  # as the local table: finished seeds only
    grid = Grid("final errors per net", nets, _run_set(study, nets, finished), charts,
                runs=len(nets) * len(study.seeds))
    paper = "The paper's numbers for these nets:\n\n" + tables.markdown_table(rows, columns)
    return grid, paper


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
    runs = [r for r in study.runs if out.keep(r) and out.usable(r)]
    paper = ""
    if out.table is not None:
        grid, paper = _table_grid(study, output, runs)
        grids = [grid]
    elif isinstance(out.draw, CurveFigure):
        grids = _curve_grids(study, output, runs)
    else:  # Figure 7's layer responses
        grids = [_responses_grid(study, runs)]
    local_file, local_text, local_grid = _local(study, output, figures_dir)
    if local_grid is not None:
        grids.append(local_grid)
    return Section(output, out.title, out.about, tuple(grids), paper, local_file, local_text)


# ---------------------------------------------------------------- the text block


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


def _intro(study: Study, entity: str, project: str, outputs: Sequence[str],
           figures_dir: str | Path) -> str:
    drawn = "; ".join(f"`{figures_command(study.name, o, figures_dir)}`" for o in outputs)
    this = f"python -m resnet_lab.dashboard {study.name} --entity {entity}" + (
        f" --project {project}" if project != "resnet_lab" else "")
    return "\n".join([
        f"**{study.title}.** The runs of W&B group `{study.group}` ({entity}/{project}), drawn "
        f"live: one colour per net ({', '.join(study.nets)}), named as in the paper's legends. "
        f"Each section ends with the same output drawn locally from the run records.",
        "",
        f"- trained by: `python run.py -m experiment={study.name}` "
        f"(conf/experiment/{study.name}.yaml; logger=wandb)",
        f"- drawn locally by: {drawn}",
        f"- this report: `{this}`",
        "",
        "Recipe:",
        "",
        recipe(study),
    ])


def view_name(study: str) -> str:
    """The workspace's saved-view name: fixed per study, so a later run finds it again."""
    return "resnetlab" + re.sub(r"[^a-z0-9]", "", study.lower())


def build(study: Study, entity: str, project: str = "resnet_lab",
          figures_dir: str | Path = "outputs/figures") -> Dashboard:
    """The dashboard of ``study`` for the W&B project ``entity/project``; local figures are
    looked up under ``figures_dir/<study>/``."""
    sections = tuple(_section(study, o, Path(figures_dir)) for o in study.outputs)
    local = tuple((local_key(s.output), s.local_file) for s in sections
                  if any(c.kind == "media" for g in s.grids for c in g.charts))
    return Dashboard(
        study=study.name, group=study.group, entity=entity, project=project,
        title=f"resnet_lab: {study.name}", description=study.title,
        intro=_intro(study, entity, project, study.outputs, figures_dir), nets=study.nets,
        seeds=study.seeds,
        sections=sections, view=view_name(study.name), where=_run_set(study, study.nets),
        local_figures=local)
