"""resnet_lab.figures on hand-made run records: series, styles, tables, captions, CLI, W&B."""

from __future__ import annotations

import csv
import json
import math
import statistics
from functools import cache

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import yaml  # noqa: E402

from resnet_lab import figures, paper  # noqa: E402
from resnet_lab.figures import FiguresError, draw, load_sweep, load_wandb, main  # noqa: E402
from resnet_lab.models import build_model, count_params  # noqa: E402

H100 = "NVIDIA H100 80GB HBM3"


@cache
def real_params(**model) -> int:
    return count_params(build_model(model))


def curve(steps: int, every: int, start: float, end: float) -> list[tuple[int, float]]:
    """An error that decays from ``start`` towards ``end`` (reached at ``steps``)."""
    return [(s, end + (start - end) * math.exp(-5 * s / steps) - (start - end) * math.exp(-5))
            for s in range(every, steps + 1, every)]


def write_run(root, *, depth, residual, family="cifar", shortcut=None, data="cifar10", seed=0,
              status="done", steps=600, train=5.0, test=9.0, responses=None, top5=False,
              reason=None, params="count"):
    """A run directory as train.py writes it; ``params``: the count summary.json records ("count":
    the net's real one; None: none, as records from before runs wrote it)."""
    shortcut = shortcut or ("A" if family == "cifar" or not residual else "B")
    kind = "ResNet" if residual else "plain"
    d = root / f"net={kind}-{depth}-{shortcut},seed={seed}"
    d.mkdir(parents=True)
    cfg = dict(seed=seed, study="test", run_name=f"{data}-{kind}-{depth}-s{seed}",
               net=f"{kind}-{depth}",
               model=dict(family=family, depth=depth, residual=residual, shortcut=shortcut,
                          num_classes=10, in_channels=3, init_mode="fan_out"),
               data=dict(name=data))
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    last = steps if status == "done" else steps // 2
    metrics = {"train/error": curve(steps, steps // 30, 80, train)[: 30 * last // steps],
               "val/error": curve(steps, steps // 10, 85, test + 0.5)[: 10 * last // steps]}
    if family == "cifar":
        metrics["test/error"] = curve(steps, steps // 10, 85, test)[: 10 * last // steps]
    if top5:
        metrics["val/top5_error"] = [(s, v / 3) for s, v in metrics["val/error"]]
    with open(d / "metrics.csv", "w") as f:
        f.write("step,metric,value\n")
        for m, pts in metrics.items():
            f.writelines(f"{s},{m},{v}\n" for s, v in pts)
    summary = dict(status=status, run_name=cfg["run_name"], study="test")
    if params == "count":
        params = real_params(**cfg["model"])
    if params is not None:
        summary["params"] = params
    if status == "done":
        summary.update(test_error=test, train_error=train, val_error=test + 0.5, steps=steps,
                       device=H100, wall_time_s=100.0)
        if top5:
            summary["test_top5_error"] = test / 3
    if reason:
        summary["reason"] = reason
    (d / "summary.json").write_text(json.dumps(summary))
    if responses:
        rows = [{"layer": i + 1, "name": f"bn{i + 1}", "std": s} for i, s in enumerate(responses)]
        (d / "responses.json").write_text(json.dumps(rows))
    return d


TABLE6_SEEDS = (8.0, 8.5, 9.1)


@pytest.fixture
def sweep(tmp_path):
    """CIFAR plain/residual nets, three seeds of ResNet-20, a failed ResNet-110 and a failed
    second seed of ResNet-56, and an ImageNet plain/residual pair (60k iterations)."""
    root = tmp_path / "sweep"
    write_run(root, depth=20, residual=False, train=6, test=9, responses=[1.0, 3.0, 2.0, 4.0])
    write_run(root, depth=56, residual=False, train=9, test=12, responses=[2.0, 5.0, 1.0])
    for seed, err in enumerate(TABLE6_SEEDS):
        write_run(root, depth=20, residual=True, seed=seed, train=2, test=err,
                  responses=[0.5, 0.9, 0.7])
    write_run(root, depth=56, residual=True, train=1, test=7, responses=[0.4, 0.3, 0.6])
    write_run(root, depth=56, residual=True, seed=1, status="running")
    write_run(root, depth=110, residual=True, status="failed", reason="DivergenceError: nan loss")
    for residual in (False, True):
        write_run(root / "imagenet", family="imagenet", data="imagenet", depth=18,
                  residual=residual, steps=60_000, train=25, test=30, top5=True)
    # Hydra's copy of the config is not a run
    (root / "net=plain-20-A,seed=0/.hydra").mkdir()
    (root / "net=plain-20-A,seed=0/.hydra/config.yaml").write_text("model: {}\n")
    return root


@pytest.fixture
def runs(sweep):
    return load_sweep(sweep)


def panel_lines(ax):
    return {line.get_gid(): line for line in ax.get_lines()}


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []


def test_load_sweep_finds_every_run_and_skips_hydra(runs):
    assert len(runs) == 10
    assert {r.net for r in runs} >= {"plain-20", "ResNet-110", "plain-18", "ResNet-18"}
    failed = next(r for r in runs if r.depth == 110)
    assert failed.status == "failed" and failed.final("test/error") == failed.metrics[
        "test/error"][-1][1]


def test_figure1_plain_nets_train_left_test_right(runs):
    fig = draw("figure1", runs)
    left, right = fig.axes
    assert legend_labels(left) == legend_labels(right) == ["plain-20", "plain-56"]
    assert set(panel_lines(left)) == {"plain-20:train/error", "plain-56:train/error"}
    assert set(panel_lines(right)) == {"plain-20:test/error", "plain-56:test/error"}
    assert left.get_xlabel() == "iter. (1e2)"  # 600 iterations: x in hundreds
    assert max(panel_lines(left)["plain-20:train/error"].get_xdata()) == pytest.approx(6.0)
    assert right.get_ylim() == (0, 20)
    footer = next(t.get_text() for t in fig.texts if t.get_gid() == "footer")
    assert "CIFAR-10" in footer and H100 in footer


def test_figure6_three_panels_dashed_train_bold_test(runs):
    fig = draw("figure6", runs)
    plain, mid, deep = fig.axes
    assert legend_labels(plain) == ["plain-20", "plain-56"]
    assert legend_labels(mid) == ["ResNet-20", "ResNet-56", "ResNet-110 (failed)"]
    assert legend_labels(deep) == ["ResNet-110 (failed)"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [4, 6, 2]
    lines = panel_lines(plain)
    train, test = lines["plain-20:train/error"], lines["plain-20:test/error"]
    assert train.get_linestyle() == "--" and test.get_linestyle() == "-"
    assert test.get_linewidth() > train.get_linewidth()
    assert train.get_color() == test.get_color() != lines["plain-56:test/error"].get_color()
    # plain-20 and ResNet-20 share a colour (one per depth), as do ResNet-110 in both panels
    assert panel_lines(mid)["ResNet-20:test/error"].get_color() == test.get_color()
    assert all(ax.get_xlabel() == "iter. (1e2)" and ax.get_ylabel() == "error (%)"
               for ax in fig.axes)


def test_figure6_empty_panel_says_so(runs):
    fig = draw("figure6", [r for r in runs if r.depth != 110])
    assert fig.axes[2].get_lines() == []
    assert "no runs" in fig.axes[2].texts[0].get_text()


def test_figure6_seed_zero_is_drawn(runs):
    fig = draw("figure6", runs)
    test = panel_lines(fig.axes[1])["ResNet-20:test/error"]
    seed0 = next(r for r in runs if r.net == "ResNet-20" and r.seed == 0)
    assert list(test.get_ydata()) == [v for _, v in seed0.metrics["test/error"]]


def test_mixed_data_sets_are_named_in_the_legend(runs):
    next(r for r in runs if r.net == "plain-56").config["data"]["name"] = "fashion_mnist"
    assert legend_labels(draw("figure1", runs).axes[0]) == [
        "plain-20 [cifar10]", "plain-56 [fashion_mnist]"]


def test_smoothing_applies_to_training_error_only(runs):
    raw, smooth = draw("figure6", runs), draw("figure6", runs, smooth=5)
    a, b = panel_lines(raw.axes[0]), panel_lines(smooth.axes[0])
    assert list(a["plain-20:test/error"].get_ydata()) == list(b["plain-20:test/error"].get_ydata())
    ys = a["plain-20:train/error"].get_ydata()
    assert b["plain-20:train/error"].get_ydata()[4] == pytest.approx(statistics.fmean(ys[:5]))


def test_figure4_imagenet_thin_train_bold_val_in_1e4(runs):
    fig = draw("figure4", runs)
    plain, res = fig.axes
    assert legend_labels(plain) == ["plain-18"] and legend_labels(res) == ["ResNet-18"]
    lines = panel_lines(res)
    assert set(lines) == {"ResNet-18:train/error", "ResNet-18:val/error"}
    train, val = lines["ResNet-18:train/error"], lines["ResNet-18:val/error"]
    assert val.get_linewidth() > train.get_linewidth() and train.get_linestyle() == "-"
    assert res.get_xlabel() == "iter. (1e4)"
    assert max(lines["ResNet-18:val/error"].get_xdata()) == pytest.approx(6.0)


def test_figure7_original_and_sorted(runs):
    fig = draw("figure7", runs)
    top, bottom = fig.axes
    assert legend_labels(top) == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    assert top.get_xlabel() == "layer index (original)"
    assert bottom.get_xlabel() == "layer index (sorted by magnitude)"
    assert list(panel_lines(top)["plain-20:original"].get_ydata()) == [1.0, 3.0, 2.0, 4.0]
    assert list(panel_lines(bottom)["plain-20:sorted"].get_ydata()) == [4.0, 3.0, 2.0, 1.0]


def test_table6_mean_std_over_finished_seeds(runs):
    rows, columns = figures.table6_rows([r for r in runs if r.family == "cifar"])
    by_net = {r["net"]: r for r in rows}
    r20 = by_net["ResNet-20"]
    assert r20["runs"] == 3 and r20["unfinished"] == 0
    assert r20["mean"] == round(statistics.fmean(TABLE6_SEEDS), 2)
    assert r20["std"] == round(statistics.stdev(TABLE6_SEEDS), 2)
    assert r20["best"] == 8.0 and r20["paper_test_error"] == paper.TABLE6_TEST_ERROR[20]
    assert r20["params"] == count_params(build_model(dict(family="cifar", depth=20)))
    assert r20["paper_params_M"] == 0.27
    assert by_net["ResNet-56"]["runs"] == 1 and by_net["ResNet-56"]["unfinished"] == 1
    r110 = by_net["ResNet-110"]
    assert r110["runs"] == 0 and r110["mean"] is None and r110["paper_mean_std"] == "6.61 ± 0.16"
    assert by_net["plain-20"]["paper_test_error"] is None
    assert [r["net"] for r in rows][:3] == ["ResNet-20", "ResNet-56", "ResNet-110"]
    assert "paper_test_error" in columns and "data" not in columns


def test_table6_shows_recorded_params_without_building_a_net(tmp_path, monkeypatch):
    root = tmp_path / "sweep"
    write_run(root, depth=20, residual=True, params=12345)

    def build_model(cfg):
        raise AssertionError("a network was built although the run recorded its params")

    monkeypatch.setattr("resnet_lab.figures.tables.build_model", build_model)
    figures.tables._count_params.cache_clear()
    out = tmp_path / "figs"
    assert main(["table6", "--sweep", str(root), "--out", str(out)]) == 0
    with open(out / "table6.csv") as f:
        assert [r["params"] for r in csv.DictReader(f)] == ["12345"]
    from_wandb = load_wandb("me/resnet", "table6", api=FakeApi(load_sweep(root)))
    assert figures.table6_rows(from_wandb)[0][0]["params"] == 12345  # W&B: run.summary


def test_params_counted_once_per_net_when_not_recorded(tmp_path, monkeypatch):
    root = tmp_path / "sweep"
    for seed in (0, 1, 2):
        write_run(root, depth=20, residual=True, seed=seed, params=None)
    write_run(root, depth=20, residual=False, params=None)
    built, real_build = [], figures.tables.build_model

    def build_model(cfg):
        built.append(cfg["residual"])
        return real_build(cfg)

    monkeypatch.setattr("resnet_lab.figures.tables.build_model", build_model)
    figures.tables._count_params.cache_clear()
    rows, _ = figures.table6_rows(load_sweep(root))
    assert [r["params"] for r in rows] == [real_params(family="cifar", depth=20)] * 2
    assert sorted(built) == [False, True]  # three seeds of ResNet-20, one net built


def test_shortcut_table_beside_table3(runs):
    rows, _ = figures.shortcut_rows([r for r in runs if r.family == "imagenet"])
    assert [(r["net"], r["top1"], r["top5"], r["paper_top1"]) for r in rows] == [
        ("plain-18", 30, 10, paper.TABLE2_TOP1[("plain", 18)]), ("ResNet-18", 30, 10, None)]


def test_cli_all_writes_every_output_with_captions(sweep, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["all", "--sweep", str(sweep), "--out", str(out)]) == 0
    for name in ("figure1", "figure4", "figure6", "figure7"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert (out / f"{name}.pdf").stat().st_size > 5_000
        assert (out / f"{name}.md").is_file()
    for name in ("table6", "shortcuts"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.md").is_file()
    with open(out / "table6.csv") as f:
        assert {r["net"] for r in csv.DictReader(f)} >= {"ResNet-20", "ResNet-110", "plain-56"}
    cap = (out / "figure6.md").read_text()
    assert "ResNet-110 seed 0: failed (DivergenceError: nan loss)" in cap
    assert "ResNet-56 seed 1: running" in cap
    assert "plain-32" in cap and "ResNet-1202" in cap  # missing from the paper's grid
    assert H100 in cap and "CIFAR-10" in cap and str(sweep) in cap
    assert "ResNet-110 seed 0: failed" in (out / "table6.md").read_text()
    printed = capsys.readouterr().out
    assert str(out / "figure6.png") in printed and "plain-56" in printed


def test_cli_single_figure_and_formats(sweep, tmp_path):
    out = tmp_path / "figs"
    assert main(["figure1", "--sweep", str(sweep), "--out", str(out), "--format", "png"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["figure1.md", "figure1.png"]
    args = ["figure1", "--sweep", str(sweep), "--out", str(out), "--data", "fashion_mnist"]
    assert main(args) == 1  # --data keeps only runs on that data set: none here


def test_cli_clear_errors(sweep, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["figure6", "--sweep", str(empty), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no runs in sweep") and "Traceback" not in err
    assert main(["all", "--sweep", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
    assert "no such directory" in capsys.readouterr().err
    cifar_only = sweep / "net=plain-20-A,seed=0"
    assert main(["figure4", "--sweep", str(cifar_only), "--out", str(tmp_path / "o")]) == 1
    assert "figure4: nothing to draw: no ImageNet-family net" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["figure1", "--out", str(tmp_path / "o")])  # no source at all


def test_x_unit_and_y_range():
    assert [figures.x_unit(n) for n in (64_000, 20_000, 5_000, 600, 120)] == [
        10_000, 10_000, 1_000, 100, 1]
    assert figures.x_label(10_000) == "iter. (1e4)" and figures.x_label(1) == "iter."
    assert figures.y_range([7, 12], (0, 20)) == (0, 20)
    assert figures.y_range([40, 85], (0, 20)) == (0, 100)
    assert figures.y_range([18, 30], (20, 60)) == (0, 40)


# ---------------------------------------------------------------- W&B


class FakeRun:
    """What wandb.Api().runs() yields, made from a local run directory's records."""

    STATE = {"done": "finished", "failed": "failed", "running": "running"}

    def __init__(self, run):
        self.id, self.config = run.config["run_name"], run.config
        self.state = self.STATE[run.status]
        self.summary = {m: v for m in figures.SERIES if (v := run.final(m)) is not None}
        self.summary["trainer/global_step"] = run.steps
        if "params" in run.summary:
            self.summary["params"] = run.summary["params"]
        self._rows = [{"trainer/global_step": s, m: v, "epoch": 0}
                      for m, pts in run.metrics.items() for s, v in pts]
        self._rows.append({"trainer/global_step": 1, "lr": 0.1})  # other keys are ignored

    def scan_history(self, keys=None):
        return [r for r in self._rows if all(k in r for k in keys)]


class FakeApi:
    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return [FakeRun(r) for r in self._runs]


def series(fig):
    return [(line.get_label(), line.get_gid(), list(line.get_xdata()), list(line.get_ydata()))
            for ax in fig.axes for line in ax.get_lines()]


def test_wandb_gives_the_same_figure1(runs):
    api = FakeApi(runs)
    from_wandb = load_wandb("me/resnet", "figure1", api=api)
    assert api.calls == [("me/resnet", {"group": "figure1"})]
    assert series(draw("figure1", from_wandb)) == series(draw("figure1", runs))
    assert next(r for r in from_wandb if r.depth == 110).status == "failed"


def test_wandb_cli_with_patched_api(runs, tmp_path, monkeypatch):
    import wandb

    monkeypatch.setattr(wandb, "Api", lambda: FakeApi(runs))
    out = tmp_path / "figs"
    assert main(["figure1", "--wandb", "me/resnet", "--group", "figure1", "--out", str(out)]) == 0
    assert "W&B me/resnet group figure1" in (out / "figure1.md").read_text()


def test_wandb_failure_is_one_sentence(tmp_path, monkeypatch, capsys):
    import wandb

    def no_network():
        raise ConnectionError("api.wandb.ai unreachable")

    monkeypatch.setattr(wandb, "Api", no_network)
    with pytest.raises(FiguresError, match="unreachable"):
        load_wandb("me/resnet", "figure1")
    assert main(["figure1", "--wandb", "me/resnet", "--group", "g", "--out", str(tmp_path)]) == 1
    assert "error: --wandb me/resnet --group g: ConnectionError" in capsys.readouterr().err
