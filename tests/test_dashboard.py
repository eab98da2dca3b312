"""The W&B dashboards (resnet_lab.dashboard) and what runs log for them (resnet_lab.loggers),
without a network: the specification of every study; its report and workspace in W&B's own
format (wandb-workspaces' models, what ``save()`` sends); finding and updating what the suite
made, against a recording stand-in for W&B's server under the real backend and library
(``tests/wandb_server.py``); the command line; and the keys a real (offline) run of the smoke
study writes."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import wandb
import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
import yaml
from PIL import Image
from wandb_workspaces.reports.v2 import internal as report_models
from wandb_workspaces.workspaces import internal as workspace_models

from resnet_lab import paper
from resnet_lab.config.sweeps import studies
from resnet_lab.dashboard import build, cli, load_study, views
from resnet_lab.dashboard.ids import IdStore, read_marker
from resnet_lab.dashboard.publish import WandbBackend, publish
from resnet_lab.dashboard.spec import FIGURES_JOB_TYPE, NO_ENTITY, RUN_COLUMNS, local_key
from resnet_lab.dashboard.studies import DashboardError
from resnet_lab.data.registry import dataset_of
from resnet_lab.figures import main as figures_main
from resnet_lab.loggers import (
    FINAL_FIELDS,
    ITERATION_SERIES,
    RESPONSE_SORTED,
    RESPONSE_STD,
    RESPONSE_X,
    STEP_KEY,
    TRAIN_JOB_TYPE,
    StudyWandbLogger,
    define_dashboard_metrics,
    flat_fields,
    log_responses,
)
from resnet_lab.models.choices import family_of
from resnet_lab.records import read_metrics

from .conftest import ROOT, run_py
from .wandb_server import PROJECT_INTERNAL_ID, FakeWandb

OUTPUTS_OF = {  # the paper's outputs each study reproduces (the Makefile's figures, and Table 6
    # for the CPU study, which trains CIFAR-family nets)
    "figure1": ["figure1"], "figure4": ["figure4"], "figure6": ["figure6"], "figure7": ["figure7"],
    "table6": ["table6"], "shortcuts": ["shortcuts"],
    "smoke": ["figure1", "figure6", "figure7", "table6"],
    "smoke_imagenet": ["figure4", "shortcuts"],
    "cpu_degradation": ["figure1", "figure6", "figure7", "table6", "preact"],
    "preact": ["preact"], "wide": ["wide"],
    "cpu_preact": ["figure1", "figure6", "table6", "preact", "beyond"],
    "cpu_figure6": ["figure1", "figure6", "figure7", "table6", "preact"],
    "cpu_figure6_seeds": ["figure1", "figure6", "table6", "preact"],  # no responses: no Figure 7
    "cpu_open_choices": ["figure6", "table6", "preact"],
    "cpu_startup": ["figure6", "table6", "preact"],
    # the remedies: their own figure and table, their baselines in the paper's outputs too
    "stochastic_depth": ["figure6", "figure7", "table6", "preact", "beyond", "remedies", "remedies_table"],
    "no_norm": ["figure6", "figure7", "table6", "preact", "beyond", "remedies", "remedies_table"],
    "cpu_stochastic_depth": ["figure6", "table6", "preact", "beyond", "remedies", "remedies_table"],
    "cpu_no_norm": ["figure6", "table6", "preact", "remedies", "remedies_table"],
    "cpu_depth_stress": ["figure6", "table6", "preact", "beyond", "remedies", "remedies_table"],
}
CIFAR_PLAIN = ("plain-20", "plain-32", "plain-44", "plain-56")
# What a training run writes to W&B (resnet_lab.loggers): the series against the iteration and
# Figure 7's against the layer; the summary: the run record's final values, and the last value
# of every series (W&B's own); the run attributes the run sets filter and the table shows.
LOGGED_HISTORY = {STEP_KEY, *ITERATION_SERIES, RESPONSE_X, RESPONSE_STD, RESPONSE_SORTED}
LOGGED_SUMMARY = {*FINAL_FIELDS, *ITERATION_SERIES}
RUN_ATTRIBUTES = {"group", "jobType", "state", "displayName"}
COLUMNS = [c.accessor() for c in RUN_COLUMNS]


def dashboard(study, figures_dir="no/figures/here", nets=(), entity="my-team"):
    return build(load_study(study, tuple(nets)), entity, "resnet_lab", figures_dir)


def net_filter(grid) -> list[str]:
    (clause,) = [c for c in grid.where if c.field == "net"]
    assert clause.config and clause.op == "in"
    return clause.value


# ---------------------------------------------------------------- reading W&B's wire format


def walk(obj):
    """Every dict inside a wire-format object."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def filter_leaves(filters: dict):
    for f in filters.get("filters", []):
        if "key" in f:
            yield f
        else:
            yield from filter_leaves(f)


def wire_keys(wire: dict) -> dict[str, set[str]]:
    """Every key a report's or workspace's panels and run sets read, from their wire format, by
    where a run keeps it: history, summary, config, run (attributes), media."""
    out = {k: set() for k in ("history", "summary", "config", "run", "media")}

    def add(section, name):
        section = {"summary_metrics": "summary"}.get(section, section)
        out[section].add(name.removesuffix(".value") if section == "config" else name)

    for d in walk(wire):
        if "runFeed" in d:  # a run set
            for f in filter_leaves(d["filters"]):
                add(f["key"]["section"], f["key"]["name"])
            for g in d["grouping"]:
                add(g["section"], g["name"])
            for k in d["sort"]["keys"]:
                add(k["key"]["section"], k["key"]["name"])
            for col in d["runFeed"]["columnOrder"]:
                add(*col.split(":", 1))
        kind, config = d.get("viewType"), d.get("config") or {}
        if kind == "Run History Line Plot":
            out["history"].update([*config["metrics"], config["xAxis"]])
        elif kind == "Bar Chart":
            for m in config["metrics"]:
                add(*m.split(".", 1))
        elif kind == "Media Browser":
            out["media"].update(config["mediaKeys"])
        if kind in ("Run History Line Plot", "Bar Chart"):
            add("config", config["groupBy"])
    return out


def panels_of(wire: dict, kind: str) -> list[dict]:
    return [d for d in walk(wire) if d.get("viewType") == kind]


def run_sets(wire: dict) -> list[dict]:
    return [d for d in walk(wire) if "runFeed" in d]


# ---------------------------------------------------------------- the specification


def test_every_study_of_conf_experiment_is_covered():
    assert sorted(studies()) == sorted(OUTPUTS_OF)


@pytest.mark.parametrize("study", sorted(OUTPUTS_OF))
def test_each_study_gets_the_papers_outputs_filtered_to_its_group(study):
    d = dashboard(study)
    assert [s.output for s in d.sections] == OUTPUTS_OF[study]
    assert d.title == f"resnet_lab: {study}" and d.group == study
    assert d.runs.groupby == () and d.runs.nets == d.nets  # the runs table: one row per run
    for g in d.grids():
        where = {(c.field, c.op, str(c.value)) for c in g.where if not c.config}
        assert ("Group", "=", study) in where and ("JobType", "=", TRAIN_JOB_TYPE) in where
        assert set(g.nets) <= set(d.nets) and set(g.nets) <= set(net_filter(g))
        assert g.runs == len(g.nets) * len(d.seeds)
    for g in (g for s in d.sections for g in s.grids):
        assert g.groupby == ("net",)  # one colour and legend entry per net
        for c in g.charts:  # a net's seeds in one line or bar, the line with its min-max band
            assert (c.aggregate, c.spread) == ("mean", "minmax") if c.kind == "line" else c.aggregate
    assert f"python run.py -m experiment={study}" in d.method and "Recipe" in d.method


def test_figure6_has_the_papers_three_panels():
    (s,) = dashboard("figure6").sections
    assert [g.nets for g in s.grids] == [
        CIFAR_PLAIN, ("ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56", "ResNet-110"),
        ("ResNet-110", "ResNet-1202")]
    for g in s.grids:
        (chart,) = g.charts
        assert chart.kind == "line" and chart.x == STEP_KEY
        assert chart.y == ("train/error", "test/error") and chart.y_range == (0, 20)


def test_figure1_two_panels_share_one_run_set_and_figure4_draws_validation_error():
    (s,) = dashboard("figure1").sections
    (g,) = s.grids
    assert g.nets == ("plain-20", "plain-56")
    assert [(c.title, c.y) for c in g.charts] == [("training error", ("train/error",)),
                                                  ("test error", ("test/error",))]
    (s4,) = dashboard("figure4").sections
    assert [g.nets for g in s4.grids] == [("plain-18", "plain-34"), ("ResNet-18-A", "ResNet-34-A")]
    assert {(c.y, c.y_range) for g in s4.grids for c in g.charts} == {
        (("train/error", "val/error"), (20, 60))}


def test_figure7_draws_layer_stds_in_original_and_sorted_order():
    (s,) = dashboard("figure7").sections
    (g,) = s.grids
    assert g.nets == ("plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110")
    assert [(c.x, c.y) for c in g.charts] == [(RESPONSE_X, (RESPONSE_STD,)),
                                              (RESPONSE_X, (RESPONSE_SORTED,))]


def test_short_studies_leave_the_y_range_to_wandb():
    for study in ("smoke", "cpu_degradation"):
        charts = [c for g in dashboard(study).grids() for c in g.charts if c.kind == "line"]
        assert charts and all(c.y_range == (None, None) for c in charts)
    # no ResNet of 110 layers or more: Figure 6's right panel has nothing to show
    fig6 = next(s for s in dashboard("cpu_degradation").sections if s.output == "figure6")
    assert [g.title for g in fig6.grids] == ["plain", "ResNet, depth ≤ 110"]


def test_table6_shows_mean_std_best_of_finished_seeds_beside_the_papers_numbers():
    d = dashboard("table6")
    assert d.seeds == (0, 1, 2, 3, 4)
    (s,) = d.sections
    (g,) = s.grids
    assert ("State", "=", "finished") in {(c.field, c.op, c.value) for c in g.where}
    assert [(c.kind, c.y, c.aggregate, c.spread) for c in g.charts] == [
        ("bar", ("test/error",), "mean", "stddev"), ("bar", ("test/error",), "min", "")]
    assert g.runs == 30
    for depth, error in paper.TABLE6_TEST_ERROR.items():
        row = next(line for line in s.paper_table.splitlines() if f"| ResNet-{depth} " in line)
        assert f"{error:g}" in row
    assert "6.61 ± 0.16" in s.paper_table and "Table 6" in s.paper_note


def test_table3_shows_top1_and_top5_beside_the_papers_numbers():
    (s,) = dashboard("shortcuts").sections
    (g,) = s.grids
    assert [(c.y, c.aggregate) for c in g.charts] == [
        (("test/error",), "mean"), (("test/error",), "min"),
        (("test/top5_error",), "mean"), (("test/top5_error",), "min")]
    for option in "ABC":
        top1, top5 = paper.TABLE3[("34", option)]
        assert f"{top1:g}" in s.paper_table and f"{top5:g}" in s.paper_table
    # synthetic data has 10 classes: no top-5 error is logged, so no top-5 panel
    s_imagenet = dashboard("smoke_imagenet").sections[1]
    assert {c.y for g in s_imagenet.grids for c in g.charts} == {("test/error",)}


def paper_rows(section) -> dict[str, str]:
    """The paper's numbers in a section, by net: its Markdown table's rows."""
    return {line.split("|")[1].strip(): line for line in section.paper_table.splitlines()
            if line.startswith("| ") and not line.startswith(("| net ", "| ---"))}


def test_the_papers_numbers_stand_beside_every_figure_on_the_papers_data_and_recipe():
    # Figure 6 on CIFAR-10 with the paper's recipe: Table 6's numbers for its ResNets (the
    # paper has none for plain nets)
    (fig6,) = dashboard("figure6").sections
    rows = paper_rows(fig6)
    assert set(rows) == {f"ResNet-{d}" for d in paper.CIFAR_DEPTHS}
    assert all(f"{paper.TABLE6_TEST_ERROR[d]:g}" in rows[f"ResNet-{d}"] for d in paper.CIFAR_DEPTHS)
    assert "same data set and recipe" in fig6.paper_note
    # Figure 4: Table 2's top-1 errors of its four nets
    (fig4,) = dashboard("figure4").sections
    assert {net: f"{paper.TABLE2_TOP1[key]:g}" in rows
            for net, rows in paper_rows(fig4).items()
            for key in [("plain" if net.startswith("plain") else "resnet", int(net.split("-")[1]))]
            } == {"plain-18": True, "plain-34": True, "ResNet-18-A": True, "ResNet-34-A": True}
    # Figure 7: its ResNets' Table 6 numbers
    assert set(paper_rows(dashboard("figure7").sections[0])) == {"ResNet-20", "ResNet-56", "ResNet-110"}
    # Figure 1 (plain nets only): none, and it says so
    (fig1,) = dashboard("figure1").sections
    assert not fig1.paper_table and fig1.paper_note.startswith("none: ")
    # another data set or recipe: none, and why not (the local tables' words)
    for s in dashboard("cpu_degradation").sections:
        assert not s.paper_table
        assert "No paper column" in s.paper_note and "data.name=fashion_mnist" in s.paper_note


def test_cpu_degradation_report_holds_exactly_its_four_nets():
    d = dashboard("cpu_degradation")
    nets = {"plain-20", "plain-56", "ResNet-20", "ResNet-56"}
    assert set(d.nets) == nets and len(d.nets) == 4
    assert {n for g in d.grids() for n in net_filter(g)} == nets
    assert {n for g in d.grids() for n in g.nets} == nets
    (clause,) = [c for c in d.where if c.field == "net"]
    assert set(clause.value) == nets  # the workspace's run set
    # more depths, as `make cpu_degradation NETS=...` trains them
    wider = dashboard("cpu_degradation", nets=CIFAR_PLAIN)
    assert wider.nets == CIFAR_PLAIN


def test_a_net_the_sweep_file_spells_otherwise_is_matched_both_ways():
    # ResNet-34-B is "ResNet-34" in the paper's legend; a W&B sweep agent keeps "ResNet-34-B"
    (g,) = dashboard("shortcuts").sections[0].grids
    assert g.nets == ("ResNet-34-A", "ResNet-34", "ResNet-34-C")
    assert set(net_filter(g)) == {"ResNet-34-A", "ResNet-34", "ResNet-34-B", "ResNet-34-C"}


def test_the_dry_run_outline_lists_every_panel_and_the_runs_columns():
    d = dashboard("figure6", entity=None)
    text = d.describe()
    assert d.entity == NO_ENTITY and f"in {NO_ENTITY}/resnet_lab" in text
    for g in d.grids():
        assert g.filters in text
    assert text.count("line '") == 3 and text.count("no smoothing") == 3 and "not drawn yet" in text
    assert all(c.label in text for c in RUN_COLUMNS) and "table of contents" in text


# ---------------------------------------------------------------- W&B's own format


@pytest.mark.parametrize("study", sorted(OUTPUTS_OF))
def test_every_studys_report_and_workspace_are_wandbs_own_format(study, tmp_path):
    d = dashboard(study, entity=None)  # an offline file needs no entity
    report_path, workspace_path = cli.write_files(d, tmp_path)
    wire, ws_wire = json.loads(report_path.read_text()), json.loads(workspace_path.read_text())
    # read back through the library's own models and written again: nothing lost or changed
    report, workspace = views.report_from_wire(wire), views.workspace_from_wire(ws_wire)
    assert views.workspace_wire(workspace) == ws_wire
    again = views.report_wire(report)
    # wandb-workspaces 0.4.13's Report._from_model drops the width (Report.from_url too):
    # publish sets it again on every save; a library that keeps it fails here, to drop this
    assert (report.width, again["spec"].pop("width"), wire["spec"].pop("width")) == (
        "readable", "readable", "fluid")
    assert again == wire
    # the report: intro, table of contents, the runs, a section per output, how it was made
    kinds = [type(b).__name__ for b in report.blocks]
    assert kinds[:5] == ["MarkdownBlock", "TableOfContents", "H2", "MarkdownBlock", "PanelGrid"]
    assert [b.text for b in report.blocks if isinstance(b, wr.H2)] == [
        "Runs", *(s.title for s in d.sections), "How the runs were made"]
    assert wire["displayName"] == d.title and read_marker(wire["description"]) == {"study": study}
    # every run set: the study's runs, the runs table's columns pinned, sorted by net and seed;
    # grouped by net except the runs table's own
    sets = run_sets(wire)
    assert len(sets) == len(d.grids())
    for rs, grid in zip(sets, d.grids(), strict=True):
        assert rs["project"] == {"name": "resnet_lab", "entityName": NO_ENTITY, "id": views.PROJECT_ID}
        leaves = {(f["key"]["section"], f["key"]["name"]): f["value"] for f in filter_leaves(rs["filters"])}
        assert leaves[("run", "group")] == study
        if grid.nets:
            assert leaves[("config", "net")] == list(net_filter(grid))
        assert rs["runFeed"]["columnOrder"] == COLUMNS and rs["runFeed"]["lockColumns"] is True
        assert all(rs["runFeed"]["columnPinned"][c] for c in COLUMNS)
        assert [k["key"]["name"] for k in rs["sort"]["keys"]] == ["net", "seed"]
        assert rs["grouping"] == [{"section": "config", "name": f"{f}.value"} for f in grid.groupby]
    # every line: no smoothing, a net's seeds as their mean with a min-max band
    assert len(panels_of(wire, "Run History Line Plot")) == sum(
        c.kind == "line" for g in d.grids() for c in g.charts)
    for wire_ in (wire, ws_wire):
        for p in panels_of(wire_, "Run History Line Plot"):
            c = p["config"]
            assert (c["smoothingType"], c["smoothingWeight"]) == ("none", 0)
            assert (c["groupBy"], c["groupAgg"], c["groupArea"], c["aggregate"]) == (
                "net.value", "mean", "minmax", True)
        assert all(p["config"]["groupBy"] == "net.value" for p in panels_of(wire_, "Bar Chart"))
    # the workspace: one run set (the whole study) with the same columns, no smoothing anywhere
    assert ws_wire["displayName"] == d.title and ws_wire["name"] == ""  # save() names a new view
    section = ws_wire["spec"]["section"]
    assert (section["settings"]["smoothingActive"], section["settings"]["xAxis"]) == (False, STEP_KEY)
    assert [s["name"] for s in section["panelBankConfig"]["sections"]] == [
        "Runs", *(s.title for s in d.sections)]
    assert all(not s["localPanelSettings"]["smoothingActive"]
               for s in section["panelBankConfig"]["sections"])
    (ws_set,) = section["runSets"]
    assert ws_set["runFeed"]["columnOrder"] == COLUMNS
    # every key a panel or a runs table reads is one a training run logs
    config = set(flat_fields(load_study(study).runs[0].config))
    for keys in (wire_keys(wire), wire_keys(ws_wire)):
        assert keys["history"] <= LOGGED_HISTORY and keys["summary"] <= LOGGED_SUMMARY
        assert keys["config"] <= config and keys["run"] <= RUN_ATTRIBUTES
        assert {"net", "seed"} <= keys["config"] and {"params", "precision", "device"} <= keys["summary"]


@pytest.fixture
def server(monkeypatch):
    """W&B's server, as wandb.Api and wandb-workspaces reach it (tests/wandb_server.py)."""
    return FakeWandb().install(monkeypatch)


def test_the_offline_files_are_what_save_sends(server, tmp_path):
    d = dashboard("figure6", entity=server.entity)
    report, workspace = views.report(d), views.workspace(d)
    expected, expected_ws = views.report_wire(report), views.workspace_wire(workspace)
    report.save()  # the library's own save, against the stand-in
    workspace.save()
    (_, sent), (_, sent_ws) = [c for c in server.calls if c[0] in ("upsertView", "UpsertView2")]
    # the same spec, but for the project id save() looked up
    assert json.loads(sent["spec"]) == json.loads(
        json.dumps(expected["spec"]).replace(views.PROJECT_ID, PROJECT_INTERNAL_ID))
    assert (sent["displayName"], sent["description"], sent["entityName"], sent["projectName"]) == (
        expected["displayName"], expected["description"], expected["project"]["entityName"],
        expected["project"]["name"])
    assert json.loads(sent_ws["spec"]) == expected_ws["spec"]
    assert (sent_ws["displayName"], sent_ws["entityName"]) == (d.title, server.entity)
    # the URLs are the library's, from what the server answered
    assert report.url.endswith(f"--{server.reports_of()[0].id}")
    assert workspace.url.startswith(server.app_url) and "?nw=" in workspace.url


def test_the_private_names_we_rely_on(monkeypatch):
    """wandb-workspaces has no public serialisation: views.py uses these (one line each there);
    a library that changes them fails here, not online."""
    assert callable(wr.Report._to_model) and callable(ws.Workspace._to_model)
    assert callable(wr.Report._from_model) and callable(ws.Workspace._from_model)
    assert {"entity_name", "name", "id"} <= set(report_models.Project.model_fields)
    assert report_models.ReportViewspec and workspace_models.View
    # an unset run-set project is not looked up: the offline files need no API at all
    monkeypatch.setattr(wandb, "Api", lambda *a, **k: pytest.fail("the offline files called W&B"))
    wire = views.report_wire(views.report(dashboard("figure1")))
    assert {rs["project"]["id"] for rs in run_sets(wire)} == {views.PROJECT_ID}


# ---------------------------------------------------------------- find and update what the suite made


def png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "white").save(path)
    return path


def publish_study(server, out: Path, study="figure1", figures_dir="no/figures/here", nets=()):
    return publish(dashboard(study, figures_dir, nets, entity=server.entity), WandbBackend(out),
                   IdStore(out, study))


def frozen(view) -> tuple:
    return view.display_name, view.description, view.spec, view.author, view.updated


def test_a_second_publish_updates_the_suites_own_report_and_leaves_others_alone(server, tmp_path):
    for net in ("plain-20", "plain-56"):
        server.add_run("figure1", run_id=net)
    theirs = server.add_report("resnet_lab: figure1", author="someone-else")
    by_hand = server.add_report("resnet_lab: figure1", author="me")  # mine, but not the suite's
    before = {v.id: frozen(v) for v in (theirs, by_hand)}
    out = tmp_path / "out"
    first = publish_study(server, out)
    assert first.report_created and first.workspace_created
    (made,) = [v for v in server.reports_of("me") if v.id != by_hand.id]
    assert read_marker(made.description)["study"] == "figure1"
    stored = IdStore(out, "figure1").get(server.entity, "resnet_lab")
    assert (stored.report_id, stored.report_url, stored.workspace_url) == (
        made.id, first.report_url, first.workspace_url)
    assert read_marker(made.description)["workspace_url"] == first.workspace_url
    # the same command again, with more nets: the same report and view, updated in place
    second = publish_study(server, out, nets=CIFAR_PLAIN)
    assert not second.report_created and not second.workspace_created
    assert (second.report_url, second.workspace_url) == (first.report_url, first.workspace_url)
    assert len(server.reports_of()) == 3 and len(server.workspaces()) == 1
    assert "plain-32" in server.views[made.id].spec and "plain-32" in server.workspaces()[0].spec
    assert {v.id: frozen(v) for v in (theirs, by_hand)} == before  # untouched
    assert sorted(second.others) == sorted(
        r.url for r in wandb.Api().reports("my-team/resnet_lab") if r.id in before)
    assert not second.notes
    # what the server holds reads back through the library as the dashboard's report
    saved = wr.Report.from_url(second.report_url)
    assert [b.text for b in saved.blocks if isinstance(b, wr.H2)][0] == "Runs"


def test_a_fresh_output_directory_finds_the_report_by_its_description(server, tmp_path):
    server.add_run("figure1")
    figures = tmp_path / "figures"
    png(figures / "figure1" / "figure1.png")
    first = publish_study(server, tmp_path / "here", figures_dir=figures)
    made = server.views[first.ids.report_id]
    # someone copies the report (description and all) into the project
    copied = server.add_report(made.display_name, "someone-else", made.description, json.loads(made.spec))
    before = frozen(copied)
    again = publish_study(server, tmp_path / "elsewhere", figures_dir=figures)
    assert not again.report_created and again.ids.report_id == made.id
    assert any("by its description" in n for n in again.notes)
    # the workspace and the figures run named in the description are the ones updated
    assert not again.workspace_created and again.workspace_url == first.workspace_url
    assert again.ids.figures_run == first.ids.figures_run and len(server.workspaces()) == 1
    assert frozen(copied) == before


def test_a_deleted_figures_run_gets_a_new_id(server, tmp_path):
    server.add_run("figure1")
    figures = tmp_path / "figures"
    png(figures / "figure1" / "figure1.png")
    first = publish_study(server, tmp_path, figures_dir=figures)
    old = first.ids.figures_run
    assert old.startswith("figures-figure1-")
    run = server.runs[(server.entity, "resnet_lab", old)]
    assert run.job_type == FIGURES_JOB_TYPE and set(run.logged[0]) == {local_key("figure1")}
    run.deleted = True  # deleted in the web app: W&B refuses its id from now on
    second = publish_study(server, tmp_path, figures_dir=figures)
    new = second.ids.figures_run
    assert new != old and server.runs[(server.entity, "resnet_lab", new)].logged
    assert ("init", old) not in server.calls[server.calls.index(("init", old)) + 1:]
    assert any(f"figures run {old} was deleted" in n for n in second.notes)
    assert IdStore(tmp_path, "figure1").get(server.entity, "resnet_lab").figures_run == new
    assert read_marker(server.views[second.ids.report_id].description)["figures_run"] == new


def test_a_deleted_report_and_view_are_made_again(server, tmp_path):
    server.add_run("figure1")
    first = publish_study(server, tmp_path)
    del server.views[first.ids.report_id]
    (view,) = server.workspaces()
    del server.views[view.id]
    second = publish_study(server, tmp_path)
    assert second.report_created and second.workspace_created
    assert second.ids.report_id != first.ids.report_id and len(server.reports_of()) == 1
    assert len(second.notes) == 2 and all("saved before" in n for n in second.notes)


def test_a_report_the_library_cannot_read_is_replaced_in_place(server, tmp_path):
    server.add_run("figure1")
    first = publish_study(server, tmp_path)
    saved = server.views[first.ids.report_id]
    spec = json.loads(saved.spec)  # edited in the web app: a block wandb-workspaces rejects
    spec["blocks"].append({"type": "a-newer-block", "value": 1})
    saved.spec = json.dumps(spec)
    with pytest.raises(ValueError, match="validation error"):
        wr.Report.from_url(first.report_url)
    second = publish_study(server, tmp_path)
    assert not second.report_created and second.ids.report_id == first.ids.report_id
    assert any("could not read the report's content" in n for n in second.notes)
    assert len(server.reports_of()) == 1
    assert wr.Report.from_url(second.report_url).title == "resnet_lab: figure1"  # readable again


def test_no_runs_in_the_group_stops_before_anything_is_saved(server, tmp_path):
    with pytest.raises(DashboardError, match="no runs of group 'figure6' in W&B project "
                                             "my-team/resnet_lab"):
        publish_study(server, tmp_path, study="figure6")
    assert not server.views and not (tmp_path / "figure6.wandb.json").exists()


# ---------------------------------------------------------------- what runs log


def test_recording_run_metrics_are_defined_against_the_iteration():
    calls = []

    class Run:
        def define_metric(self, name, step_metric=None, **kw):
            calls.append((name, step_metric))

    define_dashboard_metrics(Run())
    defined = dict(calls)
    assert all(defined[k] == STEP_KEY for k in ITERATION_SERIES)
    assert defined[RESPONSE_STD] == defined[RESPONSE_SORTED] == RESPONSE_X


def test_layer_responses_become_two_series_and_a_checkpoints_only_a_table(tmp_path):
    logged = []

    class Run:
        def log(self, row):
            logged.append(row)

        summary = {}

    logger = StudyWandbLogger(project="p", entity=None, mode="offline", name="run", group="g",
                              tags=[], run_dir=str(tmp_path))
    logger._experiment = Run()  # no W&B run is started
    rows = [{"layer": i, "name": f"bn{i}", "std": std} for i, std in enumerate([0.5, 0.9, 0.7], 1)]
    log_responses([logger], rows, step=40, final=False)
    assert [sorted(r) for r in logged] == [sorted(["responses/table", STEP_KEY])]
    logged.clear()
    log_responses([logger], rows, step=60)
    assert logged[0][STEP_KEY] == 60
    assert logged[1:] == [{RESPONSE_X: 1, RESPONSE_STD: 0.5, RESPONSE_SORTED: 0.9},
                          {RESPONSE_X: 2, RESPONSE_STD: 0.9, RESPONSE_SORTED: 0.7},
                          {RESPONSE_X: 3, RESPONSE_STD: 0.7, RESPONSE_SORTED: 0.5}]
    assert Run.summary["responses"] == rows


# ---------------------------------------------------------------- the command line


def cli_main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


@pytest.mark.parametrize("argv, message", [
    (["figure9", "--entity", "e"], "error: unknown study 'figure9'; valid studies "
                                    "(conf/experiment/): cpu_degradation, cpu_depth_stress, cpu_figure6, "
                                    "cpu_figure6_seeds, cpu_no_norm"),
    (["--entity", "e"], "error: give a study; valid studies"),
    (["figure6", "--offline", "--publish"], "error: --offline and --publish exclude each other; "
                                            "give at most one of --dry-run, --offline, --publish."),
])
def test_bad_input_is_one_sentence_and_exit_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_main(capsys, *argv)
    assert code == 2 and err.startswith(message) and "\n" not in err and not out
    assert not (tmp_path / "outputs").exists()


def test_the_dry_run_needs_no_entity_and_writes_nothing(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    code, out, _ = cli_main(capsys, "table6", "--dry-run")
    assert code == 0 and "bar 'test error (%): mean ± std over seeds'" in out
    assert f"in {NO_ENTITY}/resnet_lab" in out
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("how", ["no login", "--offline"])
def test_offline_the_files_are_written_without_an_entity(how, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    if how == "--offline":  # logged in, and still nothing is sent
        monkeypatch.setattr(cli, "can_publish", lambda: (True, "", ""))
        monkeypatch.setattr(cli, "WandbBackend", lambda *a: pytest.fail("W&B was contacted"))
    code, out, err = cli_main(capsys, "figure6", *(["--offline"] if how == "--offline" else []))
    report = Path("outputs/dashboards/figure6.report.json")
    assert code == 0 and not err and "\n" not in out
    assert out.startswith(f"Wrote the report and workspace as W&B's API would receive them to "
                          f"{report} and figure6.workspace.json")
    assert "`python -m resnet_lab.dashboard figure6 --entity ENTITY`" in out
    assert ("unset WANDB_MODE" in out) == (how == "no login")  # the tests run with WANDB_MODE=offline
    assert views.report_from_wire(json.loads(report.read_text())).title == "resnet_lab: figure6"


def test_publishing_needs_a_login(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    code, _, err = cli_main(capsys, "figure6", "--entity", "my-team", "--publish")
    assert code == 2 and err.startswith("error: cannot publish: there is no W&B login")
    assert "\n" not in err and not (tmp_path / "outputs").exists()


def test_no_runs_on_the_server_is_one_sentence(capsys, monkeypatch, server, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "can_publish", lambda: (True, "", ""))
    code, _, err = cli_main(capsys, "figure7", "--entity", "my-team")
    assert code == 2 and err.startswith("error: no runs of group 'figure7'") and "\n" not in err


def test_publish_through_the_command_line(capsys, monkeypatch, server, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "can_publish", lambda: (True, "", ""))
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    server.add_run("figure1")
    code, out, _ = cli_main(capsys, "figure1", "--out", "ids")  # the entity: the user's default
    assert code == 0 and out.startswith("report created: https://wandb.test/my-team/resnet_lab/")
    assert "the suite's W&B ids: ids/figure1.wandb.json" in out
    code, out, _ = cli_main(capsys, "figure1", "--out", "ids")
    assert code == 0 and out.startswith("report updated: ") and "workspace updated: " in out
    assert len(server.reports_of()) == 1 and len(server.workspaces()) == 1


def test_module_runs_as_a_command():
    proc = subprocess.run([sys.executable, "-m", "resnet_lab.dashboard", "nope", "--entity", "e"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown study 'nope'")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- a real run of the smoke study


def wandb_records(path: Path) -> dict:
    """What an offline run's ``run-<id>.wandb`` file holds, read with W&B's protobuf records.
    The file is a LevelDB-style log (W&B's own format): a 7-byte header, then 32 KiB blocks of
    records, each a 7-byte header (checksum, length, type: full, first, middle, last)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, chunks = path.read_bytes(), 7, b""
    assert data[:4] == b":W&B"
    out = {"run": None, "config": {}, "metrics": {}, "history": [], "summary": {}}

    def update(target, items):
        for u in items:
            target["/".join(u.nested_key) if u.nested_key else u.key] = json.loads(u.value_json)

    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 2):
            chunks = chunk
        elif kind in (3, 4):
            chunks += chunk
        if kind not in (1, 4):
            continue
        rec = pb.Record()
        rec.ParseFromString(chunks)
        which = rec.WhichOneof("record_type")
        if which == "run":
            out["run"] = rec.run
            update(out["config"], rec.run.config.update)
        elif which == "config":
            update(out["config"], rec.config.update)
        elif which == "metric":
            out["metrics"][rec.metric.name or rec.metric.glob_name] = rec.metric.step_metric
        elif which == "history":
            row = {}
            update(row, rec.history.item)
            out["history"].append(row)
        elif which == "summary":
            update(out["summary"], rec.summary.update)
    return out


SMOKE_FAST = ["logger=wandb", "net=plain-8,ResNet-8", "trainer.max_steps=4", "trainer.eval_every=2",
              "trainer.log_every=2", "trainer.ckpt_every=4", "optim.milestones=[2,3]",
              "data.train_size=128", "data.val_size=64", "data.test_size=64", "data.batch_size=32"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The smoke study, two of its nets for a few iterations, logged to W&B offline; then its
    figures drawn locally, as `make smoke` does."""
    cwd = tmp_path_factory.mktemp("smoke")
    run_py(["-m", "experiment=smoke", *SMOKE_FAST], cwd, timeout=300,
           env={"WANDB_MODE": "offline", "WANDB_SILENT": "true",
                "RESNET_LAB_DATA": str(cwd / "data")})
    sweep = cwd / "outputs" / "sweeps" / "smoke"
    assert figures_main(["all", "--sweep", str(sweep), "--out", str(cwd / "figures" / "smoke")]) == 0
    jobs = sorted(p for p in sweep.iterdir() if (p / "config.yaml").is_file())
    assert len(jobs) == 2
    return cwd, jobs


def test_every_key_a_smoke_panel_reads_is_one_a_smoke_run_writes(smoke):
    cwd, jobs = smoke
    d = dashboard("smoke", figures_dir=cwd / "figures")
    report, workspace = views.report(d), views.workspace(d)
    keys = {k: wire_keys(views.report_wire(report))[k] | wire_keys(views.workspace_wire(workspace))[k]
            for k in ("history", "summary", "config", "run", "media")}
    assert {c.key for c in RUN_COLUMNS if c.section != "run"} <= keys["config"] | keys["summary"]
    for job in jobs:
        cfg = yaml.safe_load((job / "config.yaml").read_text())
        summary = json.loads((job / "summary.json").read_text())
        metrics = read_metrics(job)
        (path,) = job.glob("wandb/offline-run-*/run-*.wandb")
        wb = wandb_records(path)
        history_keys = {k for row in wb["history"] for k in row}
        # the run: group = study, job type as the run sets filter
        assert wb["run"].run_group == cfg["study"] == d.group and wb["run"].job_type == TRAIN_JOB_TYPE
        # config: the flat fields, agreeing with the run's own config.yaml
        m = cfg["model"]
        assert {k: wb["config"][k] for k in ("family", "depth", "residual", "shortcut")} == {
            "family": family_of(m), **{k: m[k] for k in ("depth", "residual", "shortcut")}}
        assert (wb["config"]["dataset"], wb["config"]["seed"], wb["config"]["study"]) == (
            dataset_of(cfg["data"]).name, cfg["seed"], "smoke")
        assert wb["config"]["net"] in d.nets
        assert all(wb["config"]["net"] in net_filter(g) for s in d.sections  # all nets' panels
                   if s.output in ("figure7", "table6") for g in s.grids if g.nets)
        assert keys["config"] <= set(wb["config"])
        # history and summary: every key a panel or a runs table reads, each series on its
        # panel's x-axis; the runs table's values are the run record's
        assert keys["history"] <= history_keys
        assert keys["summary"] <= set(wb["summary"])
        assert all(wb["summary"][k] == summary[k] for k in ("params", "precision", "device",
                                                           "wall_time_s", "test_error"))
        for g in d.grids():
            for c in g.charts:
                if c.kind == "line":
                    assert all(wb["metrics"][y] == c.x for y in c.y), (c.title, wb["metrics"])
                    assert {y for y in c.y if y in ITERATION_SERIES} <= set(metrics)
        # the values: the iteration series equal metrics.csv, the responses responses.json
        for key in ("train/error", "test/error"):  # at a repeated step, the later row wins
            logged = {row[STEP_KEY]: row[key] for row in wb["history"] if key in row}
            assert sorted(logged.items()) == metrics[key]
        stds = [r["std"] for r in json.loads((job / "responses.json").read_text())]
        rows = [row for row in wb["history"] if RESPONSE_X in row]
        assert [r[RESPONSE_X] for r in rows] == list(range(1, len(stds) + 1))
        assert [r[RESPONSE_STD] for r in rows] == stds
        assert [r[RESPONSE_SORTED] for r in rows] == sorted(stds, reverse=True)
        # the summary: the run record's final values
        for k in ("test_error", "train_error", "val_error", "params", "steps", "status"):
            assert wb["summary"][k] == summary[k], k
        assert wb["summary"]["test/error"] == summary["test_error"] == metrics["test/error"][-1][1]
        assert not math.isnan(summary["test_error"])


def test_smoke_figures_drawn_locally_go_into_the_report(smoke, monkeypatch):
    cwd, _ = smoke
    d = dashboard("smoke", figures_dir=cwd / "figures")
    local = dict(d.local_figures)
    assert set(local) == {local_key(o) for o in ("figure1", "figure6", "figure7")}
    assert all(Path(p).is_file() for p in local.values())
    table6 = next(s for s in d.sections if s.output == "table6")
    assert table6.local_text == (cwd / "figures" / "smoke" / "table6.md").read_text()
    media = [g for g in d.grids() if any(c.kind == "media" for c in g.charts)]
    assert len(media) == 3 and all(("JobType", "=", FIGURES_JOB_TYPE) in
                                   {(c.field, c.op, c.value) for c in g.where} for g in media)
    server = FakeWandb().install(monkeypatch)
    server.add_run("smoke")
    done = publish(d, WandbBackend(cwd / "ids"), IdStore(cwd / "ids", "smoke"))
    run = server.runs[(server.entity, "resnet_lab", done.ids.figures_run)]
    (logged,) = run.logged
    assert set(logged) == set(local) and run.group == "smoke"
    assert all(isinstance(image, wandb.Image) for image in logged.values())
