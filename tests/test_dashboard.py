"""The W&B dashboards (resnet_lab.dashboard) and what runs log for them (resnet_lab.loggers),
without a network: the specification of every study, its W&B objects, the find-and-update logic
against a recording stand-in for W&B, the command line, and the keys a real (offline) run of the
smoke study writes."""

from __future__ import annotations

import copy
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from resnet_lab import paper
from resnet_lab.config.sweeps import studies
from resnet_lab.dashboard import build, cli, load_study, views
from resnet_lab.dashboard.publish import figures_run_id, publish
from resnet_lab.dashboard.spec import FIGURES_JOB_TYPE, local_key
from resnet_lab.dashboard.studies import DashboardError
from resnet_lab.data.registry import dataset_of
from resnet_lab.figures import main as figures_main
from resnet_lab.loggers import (
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
    "cpu_open_choices": ["figure6", "table6", "preact"],
}
CIFAR_PLAIN = ("plain-20", "plain-32", "plain-44", "plain-56")


def dashboard(study, figures_dir="no/figures/here", nets=()):
    return build(load_study(study, tuple(nets)), "my-team", "resnet_lab", figures_dir)


def net_filter(grid) -> list[str]:
    (clause,) = [c for c in grid.where if c.field == "net"]
    assert clause.config and clause.op == "in"
    return clause.value


# ---------------------------------------------------------------- the specification


def test_every_study_of_conf_experiment_is_covered():
    assert sorted(studies()) == sorted(OUTPUTS_OF)


@pytest.mark.parametrize("study", sorted(OUTPUTS_OF))
def test_each_study_gets_the_papers_outputs_filtered_to_its_group(study):
    d = dashboard(study)
    assert [s.output for s in d.sections] == OUTPUTS_OF[study]
    assert d.title == f"resnet_lab: {study}" and d.group == study and d.view.isalnum()
    for g in d.grids():
        where = {(c.field, c.op, str(c.value)) for c in g.where if not c.config}
        assert ("Group", "=", study) in where and ("JobType", "=", TRAIN_JOB_TYPE) in where
        assert g.groupby == ("net",)  # one colour and legend entry per net
        assert set(g.nets) <= set(d.nets) and set(g.nets) <= set(net_filter(g))
        assert g.runs == len(g.nets) * len(d.seeds)
    # every config field a run set filters or groups on is one the runs log at the top level
    assert d.keys()["config"] <= set(flat_fields(load_study(study).runs[0].config))
    assert d.keys()["run"] <= {"Group", "JobType", "State"}
    assert f"python run.py -m experiment={study}" in d.intro and "Recipe" in d.intro


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
    assert "6.61 ± 0.16" in s.paper_table


def test_table3_shows_top1_and_top5_beside_the_papers_numbers():
    (s,) = dashboard("shortcuts").sections
    (g,) = s.grids
    assert [c.y for c in g.charts] == [("test/error",), ("test/top5_error",)]
    for option in "ABC":
        top1, top5 = paper.TABLE3[("34", option)]
        assert f"{top1:g}" in s.paper_table and f"{top5:g}" in s.paper_table
    # synthetic data has 10 classes: no top-5 error is logged, so no top-5 panel
    s_imagenet = dashboard("smoke_imagenet").sections[1]
    assert [c.y for g in s_imagenet.grids for c in g.charts] == [("test/error",)]


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


def test_specification_is_json_and_the_dry_run_lists_every_panel():
    d = dashboard("figure6")
    spec = json.loads(d.to_json())
    assert spec["study"] == "figure6" and spec["filters"] == d.filters
    grids = spec["sections"][0]["grids"]
    assert [g["filters"] for g in grids] == [g.filters for g in d.sections[0].grids]
    assert "Config('net') in ['plain-20', 'plain-32', 'plain-44', 'plain-56']" in grids[0]["filters"]
    text = d.describe()
    for g in d.grids():
        assert g.filters in text
    assert text.count("line '") == 3 and "not drawn yet" in text


# ---------------------------------------------------------------- W&B's objects


@pytest.fixture
def wandb_wire(monkeypatch):
    """Let wandb-workspaces serialise a report offline: its only server call while doing so is
    the run set's project-id lookup, answered here."""
    import wandb_workspaces.reports.v2.interface as wri

    monkeypatch.setattr(wri, "execute_graphql", lambda api, query, variables: {
        "project": {"internalId": f"id-of-{variables['entityName']}/{variables['projectName']}"}})
    monkeypatch.setattr(wri, "_get_api", lambda: None)


@pytest.mark.parametrize("study", sorted(OUTPUTS_OF))
def test_report_and_workspace_serialise_to_wandbs_format(study, wandb_wire):
    d = dashboard(study)
    spec = views.report(d)._to_model().model_dump(by_alias=True, exclude_none=True)
    assert spec["displayName"] == d.title and spec["project"]["entityName"] == "my-team"
    blocks = spec["spec"]["blocks"]
    wire_grids = [b["metadata"] for b in blocks if b["type"] == "panel-grid"]
    assert len(wire_grids) == len(d.grids())
    for wire, grid in zip(wire_grids, d.grids(), strict=True):
        (runset,) = wire["runSets"]
        assert runset["project"]["id"] == "id-of-my-team/resnet_lab"
        assert runset["grouping"] == [{"section": "config", "name": "net.value"}]
        leaves = {(f["key"]["section"], f["key"]["name"]): f["value"]
                  for f in runset["filters"]["filters"]}
        assert leaves[("run", "group")] == study and leaves[("run", "jobType")] == TRAIN_JOB_TYPE
        assert leaves[("config", "net")] == list(net_filter(grid))
        panels = wire["panelBankSectionConfig"]["panels"]
        assert len(panels) == len(grid.charts)
        for panel, chart in zip(panels, grid.charts, strict=True):
            if chart.kind == "line":
                assert panel["config"]["metrics"] == list(chart.y)
                assert panel["config"]["xAxis"] == chart.x
            else:
                assert panel["config"]["metrics"] == [f"summary_metrics.{k}" for k in chart.y]
    view = views.workspace(d)._to_model()
    assert view.name == f"nw-{d.view}-v" and view.display_name == d.title
    assert [s.name for s in view.spec.section.panel_bank_config.sections] == [
        s.title for s in d.sections]
    assert view.spec.section.settings.x_axis == STEP_KEY


# ---------------------------------------------------------------- find and update


class RecordingWandb:
    """A stand-in for the W&B server as ``publish`` sees it: it keeps what is saved (reports by
    id, workspaces by view name, as W&B does), answers lookups from that, and records every call."""

    def __init__(self, runs: int = 4) -> None:
        self.runs, self.calls, self.uploads = runs, [], []
        self.reports, self.views, self.edited = {}, {}, {}

    def url(self, report_id):
        return f"https://wandb.test/my-team/resnet_lab/reports/x--{report_id}"

    def count_runs(self, entity, project, group, job_type):
        self.calls.append(("count_runs", group, job_type))
        return self.runs

    def find_reports(self, entity, project, title):
        self.calls.append(("find_reports", title))
        mine = [i for i, r in self.reports.items() if r.title == title]
        return [self.url(i) for i in sorted(mine, key=self.edited.get, reverse=True)]

    def load_report(self, url):
        self.calls.append(("load_report", url))
        return copy.deepcopy(self.reports[url.rsplit("--", 1)[1]])

    def save_report(self, report):
        if not report.id:  # W&B gives a new report its id
            report.id = f"r{len(self.reports) + 1}"
        self.calls.append(("save_report", report.id))
        self.reports[report.id] = copy.deepcopy(report)
        self.edited[report.id] = len(self.calls)
        return self.url(report.id)

    def load_workspace(self, entity, project, view):
        self.calls.append(("load_workspace", view))
        return copy.deepcopy(self.views.get(view))

    def save_workspace(self, workspace):
        view = workspace._internal_name.removeprefix("nw-").removesuffix("-v")
        self.calls.append(("save_workspace", view))
        self.views[view] = copy.deepcopy(workspace)
        return f"https://wandb.test/my-team/resnet_lab?nw={view}"

    def upload_figures(self, entity, project, group, run_id, images):
        self.uploads.append((group, run_id, images))


def headings(report) -> list[str]:
    return [b.text for b in report.blocks if type(b).__name__ in ("H2", "H3")]


def test_publishing_again_updates_the_same_report_and_workspace():
    fake = RecordingWandb()
    first = publish(dashboard("cpu_degradation"), fake)
    assert first.report_created and first.workspace_created
    assert [c[0] for c in fake.calls] == ["count_runs", "find_reports", "save_report",
                                          "load_workspace", "save_workspace"]
    (report_id,) = fake.reports
    # the same command again, now with more nets: the report is found by its title, loaded
    # (keeping its id, authors, comments) and saved with the new content
    fake.calls.clear()
    again = dashboard("cpu_degradation", nets=CIFAR_PLAIN)
    second = publish(again, fake)
    assert not second.report_created and not second.workspace_created
    assert second.report_url == first.report_url and second.workspace_url == first.workspace_url
    assert ("load_report", first.report_url) in fake.calls
    assert ("save_report", report_id) in fake.calls
    assert list(fake.reports) == [report_id] and list(fake.views) == [again.view]
    saved = fake.reports[report_id]
    assert headings(saved) == headings(views.report(again))
    assert "plain-32" in fake.views[again.view].runset_settings.filters


def test_of_several_reports_with_the_title_the_latest_is_updated_and_the_rest_named():
    fake = RecordingWandb()
    d = dashboard("figure1")
    for _ in range(2):  # two copies made by hand (the second one edited last)
        fake.save_report(views.report(d))
    fake.calls.clear()
    done = publish(d, fake)
    assert ("save_report", "r2") in fake.calls and len(fake.reports) == 2
    assert done.report_url == fake.url("r2") and done.duplicates == (fake.url("r1"),)


def test_no_runs_in_the_group_stops_before_anything_is_saved():
    fake = RecordingWandb(runs=0)
    with pytest.raises(DashboardError, match="no runs of group 'figure6' in W&B project "
                                             "my-team/resnet_lab"):
        publish(dashboard("figure6"), fake)
    assert [c[0] for c in fake.calls] == ["count_runs"] and not fake.reports


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
                                    "(conf/experiment/): cpu_degradation, cpu_figure6, cpu_open_choices, cpu_preact, figure1"),
    (["--entity", "e"], "error: give a study; valid studies"),
    (["figure6"], "error: no W&B entity: give --entity NAME"),
])
def test_bad_input_is_one_sentence_and_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    code, out, err = cli_main(capsys, *argv)
    assert code == 2 and err.startswith(message) and "\n" not in err and not out


def test_without_a_login_the_specification_is_written(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_main(capsys, "figure6", "--entity", "my-team")
    path = tmp_path / "outputs" / "dashboards" / "figure6.json"
    assert code == 0 and not err and "\n" not in out
    assert out.startswith(f"Wrote the dashboard's specification to {path.relative_to(tmp_path)}")
    assert "`python -m resnet_lab.dashboard figure6 --entity my-team` again." in out
    assert json.loads(path.read_text())["sections"][0]["output"] == "figure6"


def test_publishing_needs_a_login(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    code, _, err = cli_main(capsys, "figure6", "--entity", "my-team", "--publish")
    assert code == 2 and err.startswith("error: cannot publish: there is no W&B login")
    assert "\n" not in err and not (tmp_path / "outputs").exists()


def test_no_runs_on_the_server_is_one_sentence(capsys, monkeypatch):
    monkeypatch.setattr(cli, "can_publish", lambda: (True, ""))
    monkeypatch.setattr(cli, "WandbBackend", lambda: RecordingWandb(runs=0))
    code, _, err = cli_main(capsys, "figure7", "--entity", "my-team")
    assert code == 2 and err.startswith("error: no runs of group 'figure7'") and "\n" not in err


def test_publish_through_the_command_line(capsys, monkeypatch):
    fake = RecordingWandb()
    monkeypatch.setattr(cli, "can_publish", lambda: (True, ""))
    monkeypatch.setattr(cli, "WandbBackend", lambda: fake)
    assert cli_main(capsys, "figure1", "--entity", "my-team")[1].startswith("report created: ")
    assert cli_main(capsys, "figure1", "--entity", "my-team")[1].startswith("report updated: ")
    assert len(fake.reports) == 1 and len(fake.views) == 1


def test_dry_run_prints_the_panels_and_writes_nothing(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli_main(capsys, "table6", "--entity", "my-team", "--dry-run")
    assert code == 0 and "bar 'test error (%): mean ± std over seeds'" in out
    assert not (tmp_path / "outputs").exists()


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
    keys = d.keys()
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
        # history and summary: every key a panel reads, each series on its panel's x-axis
        assert keys["history"] <= history_keys
        assert keys["summary"] <= set(wb["summary"])
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


def test_smoke_figures_drawn_locally_go_into_the_report(smoke):
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
    fake = RecordingWandb()
    publish(d, fake)
    assert fake.uploads == [("smoke", figures_run_id("smoke"), local)]
