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
from resnet_lab.compose import compose  # noqa: E402
from resnet_lab.data.registry import DATASETS  # noqa: E402
from resnet_lab.figures import FiguresError, draw, load_sweep, load_wandb, main  # noqa: E402
from resnet_lab.models import build_model, count_params  # noqa: E402
from resnet_lab.train import resolved  # noqa: E402

H100 = "NVIDIA H100 80GB HBM3"


@cache
def real_params(**model) -> int:
    return count_params(build_model(model))


BASE = {  # the config a run of each data set records, as run.py resolves it
    "cifar10": ["data.val_size=0"],  # the paper's Table 6 recipe: all 50k training images
    "fashion_mnist": ["data=fashion_mnist", "trainer.max_steps=600", "optim.milestones=[300,450]"],
    "synthetic": ["data=synthetic"],
    "imagenet": ["data=imagenet", "model=imagenet", "optim=sgd_imagenet", "trainer.max_steps=600000"],
}


@cache
def _base_config(data: str) -> str:
    return yaml.safe_dump(resolved(compose(BASE[data])))


def base_config(data: str, **overrides) -> dict:
    """A whole resolved config of a run on ``data``, with ``overrides`` ({"data.eval_subset": 2000})."""
    cfg = yaml.safe_load(_base_config(data))
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = cfg
        for k in parents:
            node = node[k]
        node[leaf] = value
    return cfg


def curve(steps: int, every: int, start: float, end: float) -> list[tuple[int, float]]:
    """An error that decays from ``start`` towards ``end`` (reached at ``steps``)."""
    return [(s, end + (start - end) * math.exp(-5 * s / steps) - (start - end) * math.exp(-5))
            for s in range(every, steps + 1, every)]


def write_run(root, *, depth, residual, family="cifar", shortcut=None, data="cifar10", seed=0,
              status="done", steps=600, train=5.0, test=9.0, responses=None, top5=False,
              reason=None, params="count", config=None, summary=None, name=None):
    """A run directory as train.py writes it; ``params``: the count summary.json records ("count":
    the net's real one; None: none, as records from before runs wrote it); ``config``: overrides
    of the recorded config ({"data.eval_subset": 2000}); ``summary``: extra summary fields."""
    shortcut = shortcut or ("A" if family == "cifar" or not residual else "B")
    kind = "ResNet" if residual else "plain"
    d = root / (name or f"net={kind}-{depth}-{shortcut},seed={seed}")
    d.mkdir(parents=True)
    cfg = base_config(data, **(config or {}))
    cfg.update(seed=seed, study="test", run_name=f"{data}-{kind}-{depth}-s{seed}",
               net=f"{kind}-{depth}")
    cfg["model"] = dict(family=family, depth=depth, residual=residual, shortcut=shortcut,
                        num_classes=10, in_channels=3, init_mode="fan_out",
                        **({"stride_in": "1x1"} if family == "imagenet" else {}))
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
        if status == "done" and family == "cifar":
            f.write(f"{steps},test/error,{test}\n")  # the final test (trainer.test), last row
    extra, summary = summary, dict(status=status, run_name=cfg["run_name"], study="test")
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
    summary.update(extra or {})
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


def test_figure6_a_net_is_the_mean_of_its_finished_seeds_in_a_min_max_band(runs):
    fig = draw("figure6", runs)
    mid = fig.axes[1]
    test = panel_lines(mid)["ResNet-20:test/error"]
    seeds = [[v for _, v in r.metrics["test/error"]] for r in runs if r.net == "ResNet-20"]
    assert len(seeds) == 3
    at_each_step = list(zip(*seeds, strict=True))  # finished seeds: the same iterations
    assert list(test.get_ydata()) == pytest.approx([statistics.fmean(v) for v in at_each_step])
    (band,) = [c for c in mid.collections if c.get_gid() == "ResNet-20:test/error:band"]
    corners = band.get_paths()[0].vertices[:, 1]
    assert min(corners) == pytest.approx(min(map(min, at_each_step)))
    assert max(corners) == pytest.approx(max(map(max, at_each_step)))
    # ResNet-56: seed 0 finished, seed 1 still running: the finished seed alone, no band
    seed0 = next(r for r in runs if r.net == "ResNet-56" and r.seed == 0)
    r56 = panel_lines(mid)["ResNet-56:test/error"]
    assert list(r56.get_ydata()) == [v for _, v in seed0.metrics["test/error"]]
    assert not [c for c in mid.collections if str(c.get_gid()).startswith("ResNet-56")]


def test_mixed_data_sets_are_named_in_the_legend(runs):
    next(r for r in runs if r.net == "plain-56").config["data"]["_target_"] = DATASETS["fashion_mnist"].module
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


# ---------------------------------------------------------------- the paper's protocol (issue 12)


def caption_of(out, name):
    return (out / f"{name}.md").read_text()


def test_eval_subset_curves_end_in_a_distinct_final_point_and_captions_say_which_images(tmp_path):
    """cpu_degradation evaluates 2,000 test images during training and all 10,000 at the end:
    the curve holds the subset's points, the final test is a separate marker, and the caption
    says which images each curve's points come from and what the training error is."""
    root = tmp_path / "fm"
    subset = {"data.eval_subset": 2000, "trainer.log_every": 10, "trainer.eval_every": 60}
    for depth in (20, 56):
        write_run(root, depth=depth, residual=False, data="fashion_mnist", test=9 + depth / 10,
                  config=subset)
    runs = load_sweep(root)
    r = next(r for r in runs if r.depth == 20)
    assert r.final_points["test/error"] == (600, 11.0) and r.final("test/error") == 11.0
    assert r.metrics["test/error"][-1][0] == 540  # the subset's points only
    fig = draw("figure6", runs)
    plain = fig.axes[0]
    lines = panel_lines(plain)
    final, curve = lines["plain-20:test/error:final"], lines["plain-20:test/error"]
    assert final.get_marker() == "D" and final.get_linestyle() == "None"
    assert list(final.get_xdata()) == [6.0] and list(final.get_ydata()) == [11.0]
    assert max(curve.get_xdata()) < 6.0 and final.get_color() == curve.get_color()
    assert figures.curves.FINAL_LABEL in legend_labels(plain)
    assert fig.texts[0].get_text().endswith("on Fashion-MNIST")  # the title names the data
    out = tmp_path / "figs"
    assert main(["figure6", "--sweep", str(root), "--out", str(out), "--format", "png"]) == 0
    cap = caption_of(out, "figure6")
    assert cap.startswith("# Figure 6: training (dashed) and test (bold) error, on Fashion-MNIST")
    assert "first 2,000 of the 10,000 test images (data.eval_subset), every 60 iterations" in cap
    assert "final test error (test_error below) is on all 10,000 test images, drawn as a diamond" in cap
    assert ("mean error of the mini-batches of the last 10 iterations (128 augmented images of "
            "the 55,000 training images each, BN in training mode") in cap


def test_without_a_subset_the_caption_says_every_point_is_the_whole_test_set(sweep, tmp_path):
    out = tmp_path / "figs"
    assert main(["figure1", "--sweep", str(sweep), "--out", str(out), "--format", "png"]) == 0
    cap = caption_of(out, "figure1")
    assert "test error: every point on all 10,000 test images, every 1,000 iterations" in cap
    assert "of the 50,000 training images each" in cap  # data.val_size=0: all 50k
    assert all(not r.final_points for r in load_sweep(sweep))


def test_table6_on_fashion_mnist_has_no_paper_column_and_says_why(tmp_path):
    root = tmp_path / "fm"
    for depth in (20, 56):
        write_run(root, depth=depth, residual=True, data="fashion_mnist")
    out = tmp_path / "figs"
    assert main(["table6", "--sweep", str(root), "--out", str(out)]) == 0
    with open(out / "table6.csv") as f:
        header = next(csv.reader(f))
    assert not [c for c in header if c.startswith("paper")]
    md = caption_of(out, "table6")
    assert md.startswith("# Table 6: test error per depth of the CIFAR-family nets, on Fashion-MNIST")
    assert "No paper column: the paper's numbers (Table 6) are for CIFAR-10, trained on all 50k" in md
    assert "data.name=fashion_mnist (paper: cifar10)" in md
    assert "trainer.max_steps=600 (paper: 64000)" in md


def test_table6_paper_column_only_with_the_papers_recipe(tmp_path):
    """CIFAR-10 on the 45k/5k split is not the recipe of Table 6's numbers (all 50k)."""
    rows, columns = figures.table6_rows(load_sweep(_sweep_of(tmp_path / "a", 20)))
    assert rows[0]["paper_test_error"] == 8.75 and "paper_test_error" in columns
    split = _sweep_of(tmp_path / "b", 20, config={"data.val_size": 5000})
    rows, columns = figures.table6_rows(load_sweep(split))
    assert rows[0]["paper_test_error"] is None and "paper_test_error" not in columns


def test_shortcut_table_paper_column_only_with_ten_crop_testing(tmp_path):
    root = tmp_path / "in"
    write_run(root, family="imagenet", data="imagenet", depth=34, residual=True, shortcut="C",
              config={"data.test_mode": "center"})
    out = tmp_path / "figs"
    assert main(["shortcuts", "--sweep", str(root), "--out", str(out)]) == 0
    md = caption_of(out, "shortcuts")
    assert "paper_top1" not in md.split("\n\n")[1]  # the table
    assert "data.test_mode=center (paper: ten_crop)" in md


def test_table6_caption_says_which_warmup_rule_each_run_used(tmp_path):
    root = tmp_path / "t6"
    write_run(root, depth=20, residual=True)
    write_run(root, depth=110, residual=True, summary={"warmup_ended_at": 412})
    write_run(root, depth=1202, residual=True, status="running")
    out = tmp_path / "figs"
    assert main(["table6", "--sweep", str(root), "--out", str(out)]) == 0
    md = caption_of(out, "table6")
    assert "The paper_* columns are the paper's Table 6 (CIFAR-10, trained on all 50k" in md
    assert "- ResNet-20 seed 0: auto: off (depth < 110, our reading of the paper)" in md
    assert ("- ResNet-110 seed 0: auto: on (depth >= 110, our reading of the paper): lr 0.01 "
            "until running training error over 20 iterations < 80%; ended at iteration 412") in md
    assert "- ResNet-1202 seed 0: auto: on (depth >= 110, our reading of the paper): lr 0.01" in md
    assert "unfinished run" in md
    forced = tmp_path / "forced"
    write_run(forced, depth=56, residual=True, config={"optim.warmup.enabled": True},
              summary={"warmup_ended_at": 300})
    assert main(["table6", "--sweep", str(forced), "--out", str(out)]) == 0
    assert "- ResNet-56 seed 0: true (forced): lr 0.01" in caption_of(out, "table6")
    ramp = tmp_path / "ramp"
    write_run(ramp, depth=56, residual=True, summary={"warmup_ended_at": 150},
              config={"optim.warmup.enabled": True, "optim.warmup.until": "steps",
                      "optim.warmup.steps": 150, "optim.warmup.ramp": "linear"})
    assert main(["table6", "--sweep", str(ramp), "--out", str(out)]) == 0
    assert ("- ResNet-56 seed 0: true (forced): lr 0.01 rising linearly to the base lr until "
            "iteration 150; ended at iteration 150") in caption_of(out, "table6")


def _sweep_of(root, *depths, residual=True, seeds=(0,), **kw):
    for depth in depths:
        for seed in seeds:
            write_run(root, depth=depth, residual=residual, seed=seed, **kw)
    return root


def test_a_figure_from_two_sweep_directories_merges_them_and_names_duplicates(tmp_path, capsys):
    a = _sweep_of(tmp_path / "machine-a", 20, 56, residual=False)
    b = _sweep_of(tmp_path / "machine-b", 20, 56, 110)
    write_run(b, depth=20, residual=False, name="copy-of-plain-20")  # the same run, copied over
    out = tmp_path / "figs"
    assert main(["figure6", "--sweep", str(a), "--sweep", str(b), "--out", str(out),
                 "--format", "png"]) == 0
    assert "duplicate: plain-20 seed 0 (same net, seed and recipe) is in 2 sources" in capsys.readouterr().out
    md = caption_of(out, "figure6")
    assert f"sweep {a}; sweep {b}" in md
    dup = md.split("## Duplicates and recipes")[1]
    assert str(a / "net=plain-A-20") not in dup and str(a) in dup and "copy-of-plain-20" in dup
    drawn = [line.split("|")[1].strip() for line in md.splitlines()
             if line.startswith("| ") and "| yes " in line]
    assert drawn == ["plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110"]


def test_two_recipes_in_one_curve_are_refused(tmp_path, capsys):
    a = _sweep_of(tmp_path / "a", 20)  # all 50k
    b = _sweep_of(tmp_path / "b", 20, seeds=(1,), config={"data.val_size": 5000})  # 45k/5k
    out = tmp_path / "figs"
    assert main(["table6", "--sweep", str(a), "--sweep", str(b), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("table6: the runs of ResNet-20 have different recipes and would be mixed in one "
            "curve or row (data.val_size: 0 for ResNet-20 seed 0; 5000 for ResNet-20 seed 1)") in err
    assert "--where data.val_size=0" in err and "\n" not in err.strip()
    # --mixed-recipes does not mix them in one row either
    assert main(["table6", "--sweep", str(a), "--sweep", str(b), "--out", str(out),
                 "--mixed-recipes"]) == 1
    assert main(["table6", "--sweep", str(a), "--sweep", str(b), "--out", str(out),
                 "--where", "data.val_size=0"]) == 0
    with open(out / "table6.csv") as f:
        assert [r["runs"] for r in csv.DictReader(f)] == ["1"]


def test_two_recipes_in_one_output_need_mixed_recipes_and_are_named(tmp_path, capsys):
    a = _sweep_of(tmp_path / "a", 20, residual=False)
    b = _sweep_of(tmp_path / "b", 56, residual=False, config={"trainer.max_steps": 32000})
    args = ["figure1", "--sweep", str(a), "--sweep", str(b), "--out", str(tmp_path / "o")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert ("figure1: the runs have different recipes (trainer.max_steps: 64000 for plain-20 "
            "seed 0; 32000 for plain-56 seed 0); draw one with --where trainer.max_steps=64000, "
            "or all together with --mixed-recipes") in err
    assert main([*args, "--mixed-recipes"]) == 0
    assert "Mixed recipes (--mixed-recipes): the runs differ in trainer.max_steps" in caption_of(
        tmp_path / "o", "figure1")


def test_several_wandb_groups_and_a_sweep_merge(runs, sweep, tmp_path, monkeypatch):
    import wandb

    api = FakeApi([r for r in runs if r.family == "cifar"])
    monkeypatch.setattr(wandb, "Api", lambda: api)
    out = tmp_path / "figs"
    assert main(["figure1", "--wandb", "me/resnet", "--group", "part1", "--group", "part2",
                 "--sweep", str(sweep), "--out", str(out), "--format", "png"]) == 0
    assert [f for _, f in api.calls] == [{"group": "part1"}, {"group": "part2"}]
    md = caption_of(out, "figure1")
    assert "W&B me/resnet group part1; W&B me/resnet group part2" in md
    # each plain net is in both groups and the sweep: one copy used, the two others named
    assert "plain-20 seed 0 (same net, seed and recipe) is in 3 sources" in md


# ---------------------------------------------------------------- beyond the paper


def write_beyond_run(root, net, test, **kw):
    """A run of a follow-up's net, its model config as ``net=<name>`` gives it."""
    from resnet_lab.models.naming import parse_net

    model = parse_net(net, "cifar")
    d = write_run(root, depth=model["depth"], residual=model["residual"], test=test,
                  shortcut=model.get("shortcut"), params=None, name=f"net={net}", **kw)
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["model"].update({k: v for k, v in model.items() if k not in ("depth", "residual")})
    cfg["net"] = net
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    return d


def test_follow_ups_get_their_own_figures_and_table(tmp_path):
    """Pre-activation and wide nets are drawn and tabulated under their own names, never mixed
    into the 2015 paper's outputs as seeds of a net of the same depth."""
    root = tmp_path / "sweep"
    for net, err in (("ResNet-110", 6.5), ("preact-ResNet-110", 6.3), ("ResNet-164", 6.0),
                     ("preact-ResNet-164", 5.5), ("WRN-28-10", 4.2)):
        write_beyond_run(root, net, err)
    write_run(root, depth=20, residual=True, test=8.5)  # the 2015 paper's: Figure 6, Table 6
    runs = load_sweep(root)
    assert sorted(r.net for r in runs) == ["ResNet-110", "ResNet-164", "ResNet-20", "WRN-28-10",
                                           "preact-ResNet-110", "preact-ResNet-164"]
    original, preact = draw("preact", runs).axes  # no plain nets: no plain panel
    assert legend_labels(original) == ["ResNet-110", "ResNet-164"]
    assert legend_labels(preact) == ["preact-ResNet-110", "preact-ResNet-164"]
    assert [legend_labels(ax) for ax in draw("wide", runs).axes] == [["WRN-28-10"]]
    assert {n for ax in draw("figure6", runs).axes for n in legend_labels(ax)} == {"ResNet-20", "ResNet-110"}
    rows, columns = figures.OUTPUTS["beyond"].table(figures.select("beyond", runs)[1])
    by_net = {r["net"]: r for r in rows}
    assert set(by_net) == {"ResNet-110", "ResNet-164", "preact-ResNet-110", "preact-ResNet-164", "WRN-28-10"}
    pre164 = by_net["preact-ResNet-164"]
    assert (pre164["mean"], pre164["paper_test_error"], pre164["paper_params_M"]) == (5.5, 5.46, 1.7)
    assert pre164["weights_M"] == 1.68 and pre164["paper_recipe"] == "same"  # the 2015 recipe
    assert by_net["WRN-28-10"]["paper_recipe"].startswith("the paper's own")
    assert {"weights_M", "paper_source"} <= set(columns)
    table6, _ = figures.OUTPUTS["table6"].table(figures.select("table6", runs)[1])
    assert [r["net"] for r in table6] == ["ResNet-20", "ResNet-110"]  # preact-110 not a seed of it


def test_a_runs_device_names_the_precision_it_chose(tmp_path):
    # trainer.precision=auto resolves per machine: the captions say what each run used
    write_run(tmp_path / "s", depth=20, residual=True, name="fast",
              summary={"device": "x86_64 CPU (2 threads)", "precision": "bf16-mixed"})
    write_run(tmp_path / "s", depth=56, residual=True, name="old")
    runs = load_sweep(tmp_path / "s")
    assert {r.depth: r.device for r in runs} == {20: "x86_64 CPU (2 threads), bf16-mixed", 56: H100}
    footer = next(t.get_text() for t in draw("figure6", runs).texts if t.get_gid() == "footer")
    assert "x86_64 CPU (2 threads), bf16-mixed" in footer


# ---------------------------------------------------------------- the remedies


def test_remedies_get_a_panel_each_and_a_table_beside_their_papers(tmp_path):
    """Stochastic depth, no BN, Fixup and SkipInit runs are drawn one panel per remedy beside the
    paper's units, tabulated with their wall time and their papers' numbers, and kept out of the
    2015 paper's outputs and of the follow-ups' (a remedy is not a seed of the same depth)."""
    root = tmp_path / "sweep"
    for net, err, minutes in (("ResNet-110", 6.5, 10), ("ResNet-110-SD", 5.9, 7.5),
                              ("ResNet-110-noBN", 80.0, 9), ("Fixup-ResNet-110", 7.0, 9),
                              ("SkipInit-ResNet-110", 7.4, 9)):
        write_beyond_run(root, net, err, summary={"wall_time_s": 60.0 * minutes}, data="cifar10")
    write_beyond_run(root, "preact-ResNet-110", 6.3)
    runs = load_sweep(root)
    panels = {ax.get_title(): legend_labels(ax) for ax in draw("remedies", runs).axes}
    assert panels == {"none (BN, He init)": ["ResNet-110"], "stochastic depth": ["ResNet-110-SD"],
                      "no BN, He init": ["ResNet-110-noBN"], "Fixup": ["Fixup-ResNet-110"],
                      "SkipInit": ["SkipInit-ResNet-110"]}  # no ReZero run: no ReZero panel
    rows, columns = figures.OUTPUTS["remedies_table"].table(figures.select("remedies_table", runs)[1])
    by_net = {r["net"]: r for r in rows}
    assert "preact-ResNet-110" not in by_net
    sd = by_net["ResNet-110-SD"]
    assert (sd["remedy"], sd["mean"], sd["wall_time_min"]) == ("stochastic depth", 5.9, 7.5)
    assert sd["paper_test_error"] == paper.REMEDIES["ResNet-110-SD"].error
    assert "Table 1" in sd["paper_source"] and by_net["Fixup-ResNet-110"]["paper_test_error"] is None
    assert {"remedy", "wall_time_min", "train_error", "paper_test_error"} <= set(columns)
    beyond, _ = figures.OUTPUTS["beyond"].table(figures.select("beyond", runs)[1])
    assert {r["net"] for r in beyond} == {"ResNet-110", "preact-ResNet-110"}
    assert {n for ax in draw("figure6", runs).axes for n in legend_labels(ax)} == {"ResNet-110"}


def test_remedies_on_fashion_mnist_have_no_paper_column(tmp_path):
    root = tmp_path / "sweep"
    write_beyond_run(root, "ResNet-56-SD", 9.0, data="fashion_mnist")
    rows, columns = figures.OUTPUTS["remedies_table"].table(load_sweep(root))
    assert rows[0]["paper_test_error"] is None and "paper_test_error" not in columns


def test_stress_table_says_which_net_trained_diverged_or_did_not_learn(tmp_path):
    root = tmp_path / "sweep"
    write_beyond_run(root, "ResNet-110", 9.0, train=40.0)
    write_beyond_run(root, "ResNet-1202", 9.0, train=60.0)
    write_beyond_run(root, "ResNet-110-noBN", 90.0, status="failed",
                     reason="training diverged by iteration 12: the loss is nan at lr 0.1.")
    write_beyond_run(root, "Fixup-ResNet-110", 9.0, train=85.0)  # finished, chance level
    write_beyond_run(root, "Fixup-ResNet-1202", 9.0, status="failed", reason="killed")
    runs = load_sweep(root)
    rows, _ = figures.ON_REQUEST["stress"].table(runs)
    verdict = {r["net"]: r["trains"] for r in rows}
    assert verdict == {"ResNet-110": "yes", "ResNet-1202": "yes", "ResNet-110-noBN": "diverged",
                       "Fixup-ResNet-110": "no (did not learn)", "Fixup-ResNet-1202": "no (failed)"}
    lines = figures.ON_REQUEST["stress"].sections[0].lines(runs)
    assert "- none (BN, He init): trains up to 1202 layers of 110, 1202" in lines
    assert "- Fixup: trains at none of 110, 1202" in lines
