"""A net's seeds in the figures and tables (resnet_lab.figures.seeds): the mean line and its
min-max band at the iterations all seeds logged, the final numbers (n, mean, sample std, best)
and Table 6's "best (mean ± std)", on hand-made records whose numbers the tests work out by hand."""

from __future__ import annotations

import csv
import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from resnet_lab import figures  # noqa: E402
from resnet_lab.figures import (  # noqa: E402
    Run,
    averaged,
    band,
    by_net,
    draw,
    load_sweep,
    main,
    stats,
)

from .test_figures import legend_labels, panel_lines, write_run  # noqa: E402


def run(depth: int, seed: int, status: str = "done") -> Run:
    """A run record in memory: seed ``seed`` of the CIFAR plain net of ``depth`` layers."""
    return Run({"model": {"family": "cifar", "depth": depth, "residual": False}, "seed": seed},
               {"status": status}, {}, source=f"plain-{depth} seed {seed}")


def write_points(run_dir, points: dict[str, list[tuple[int, float]]]) -> None:
    """Replace a run directory's curves with ``points`` (metric -> [(step, value)])."""
    with open(run_dir / "metrics.csv", "w") as f:
        f.write("step,metric,value\n")
        for m, pts in points.items():
            f.writelines(f"{s},{m},{v}\n" for s, v in pts)


def bands(ax, gid_start: str) -> list:
    return [c for c in ax.collections if str(c.get_gid()).startswith(gid_start)]


def y_span(collection) -> tuple[float, float]:
    ys = [y for path in collection.get_paths() for y in path.vertices[:, 1]]
    return min(ys), max(ys)


def footer(fig) -> str:
    return next(t.get_text() for t in fig.texts if t.get_gid() == "footer")


# ---------------------------------------------------------------- the statistics


def test_band_is_the_mean_and_min_max_at_each_iteration():
    b = band([[(100, 30.0), (200, 20.0)], [(100, 40.0), (200, 26.0)], [(100, 50.0), (200, 35.0)]])
    assert list(b.steps) == [100, 200] and b.seeds == 3
    assert list(b.mean) == pytest.approx([40.0, 27.0])  # (30+40+50)/3, (20+26+35)/3
    assert list(b.low) == [30.0, 20.0] and list(b.high) == [50.0, 35.0]


def test_band_keeps_the_iterations_every_seed_logged():
    # a seed that stopped at 200 and one that logged every 50: the shared iterations are 100, 200
    short = [(100, 10.0), (200, 8.0)]
    long = [(50, 14.0), (100, 12.0), (150, 11.0), (200, 6.0), (300, 5.0)]
    b = band([short, long])
    assert list(b.steps) == [100, 200]
    assert list(b.mean) == [11.0, 7.0]
    assert list(b.low) == [10.0, 6.0] and list(b.high) == [12.0, 8.0]
    assert len(band([[(1, 1.0)], [(2, 2.0)]])) == 0 and band([]).seeds == 0  # nothing shared


def test_band_of_one_seed_is_that_seed():
    b = band([[(10, 3.5), (20, 2.5)]])
    assert b.seeds == 1 and list(b.mean) == list(b.low) == list(b.high) == [3.5, 2.5]


def test_stats_mean_sample_std_and_best():
    s = stats([8.0, 6.0, 7.0])
    # mean 7; deviations 1, -1, 0: squares sum to 2, over n - 1 = 2: std 1; best the lowest
    assert (s.n, s.mean, s.std, s.best) == (3, 7.0, 1.0, 6.0)
    two = stats([6.4, 6.8])
    # deviations ±0.2: squares sum to 0.08, over n - 1 = 1: std sqrt(0.08)
    assert two.mean == pytest.approx(6.6) and two.std == pytest.approx(math.sqrt(0.08))
    assert stats([None, 5.0]) == stats([5.0])  # a seed without a value is left out


def test_table_text_is_best_then_mean_std_in_brackets():
    assert stats([6.0, 7.0, 8.0]).text == "6.00 (7.00 ± 1.00)"
    assert stats([6.4, 6.8]).text == "6.40 (6.60 ± 0.28)"  # std sqrt(0.08) = 0.283
    assert stats([6.43]).text == "6.43"  # one seed: no std, its value
    one = stats([6.43])
    assert (one.n, one.std, one.best) == (1, None, 6.43)
    assert stats([]).text == "" and stats([]).mean is None


def test_averaged_takes_finished_seeds_else_the_unfinished_ones():
    runs = [run(56, 1, "failed"), run(20, 1), run(20, 0, "running"), run(20, 2),
            run(56, 0, "running")]
    chosen = averaged(runs)
    assert [(r.depth, r.seed, r.status) for r in chosen] == [
        (20, 1, "done"), (20, 2, "done"), (56, 0, "running"), (56, 1, "failed")]
    assert [[r.seed for r in g] for g in by_net(runs)] == [[0, 1, 2], [0, 1]]


# ---------------------------------------------------------------- figures over seeds


@pytest.fixture
def unequal(tmp_path):
    """plain-20 with three finished seeds, plain-56 with one; curves made by hand."""
    root = tmp_path / "unequal"
    for seed, (train, test) in enumerate((([30, 20, 10], [35, 25, 15]),
                                          ([40, 30, 20], [45, 35, 25]),
                                          ([50, 40, 30], [55, 45, 36]))):
        d = write_run(root, depth=20, residual=False, seed=seed, test=test[-1])
        write_points(d, {"train/error": list(zip((100, 200, 300), train, strict=True)),
                         "test/error": list(zip((100, 200, 300), test, strict=True))})
    d = write_run(root, depth=56, residual=False, test=40.0)
    write_points(d, {"train/error": [(100, 60.0), (200, 50.0), (300, 45.0)],
                     "test/error": [(100, 62.0), (200, 52.0), (300, 40.0)]})
    return root


def test_unequal_seeds_are_drawn_as_means_with_bands_and_captioned(unequal, tmp_path):
    runs = load_sweep(unequal)
    fig = draw("figure1", runs)
    train_ax, test_ax = fig.axes
    assert legend_labels(test_ax) == ["plain-20", "plain-56"]  # the paper's names
    line = panel_lines(test_ax)["plain-20:test/error"]
    assert list(line.get_ydata()) == pytest.approx([45.0, 35.0, 76 / 3])  # (15+25+36)/3
    assert list(panel_lines(train_ax)["plain-20:train/error"].get_ydata()) == [40.0, 30.0, 20.0]
    (b,) = bands(test_ax, "plain-20:test/error")
    assert y_span(b) == (15.0, 55.0)  # the lowest and highest seed over the whole band
    assert not bands(test_ax, "plain-56")  # one seed: that run, no band
    assert list(panel_lines(test_ax)["plain-56:test/error"].get_ydata()) == [62.0, 52.0, 40.0]
    assert "plain-20: 3, plain-56: 1" in footer(fig) and "minimum to maximum" in footer(fig)
    out = tmp_path / "figs"
    assert main(["figure1", "--sweep", str(unequal), "--out", str(out), "--format", "png"]) == 0
    assert (out / "figure1.png").stat().st_size > 10_000
    cap = (out / "figure1.md").read_text()
    assert "Seeds per net: plain-20: 3, plain-56: 1." in cap
    assert "shaded band spans the seeds' minimum to maximum" in cap
    assert "at the iterations all of them logged" in cap
    used = [row.split("|")[1].strip() for row in cap.splitlines() if "| yes " in row]
    assert used == ["plain-20", "plain-20", "plain-20", "plain-56"]  # every averaged seed


def test_a_single_seed_sweep_draws_each_run_without_a_band(tmp_path):
    root = tmp_path / "single"
    for depth in (20, 56):
        write_run(root, depth=depth, residual=False, test=depth / 4)
    runs = load_sweep(root)
    fig = draw("figure1", runs)
    for ax in fig.axes:
        assert not ax.collections  # no bands, no range bars
    for r in runs:
        line = panel_lines(fig.axes[1])[f"{r.net}:test/error"]
        assert list(line.get_ydata()) == [v for _, v in r.metrics["test/error"]]
    assert "lines: mean" not in footer(fig)
    out = tmp_path / "figs"
    assert main(["figure1", "--sweep", str(root), "--out", str(out), "--format", "png"]) == 0
    cap = (out / "figure1.md").read_text()
    assert "Curves: one run per net (one seed each, so no bands)" in cap
    assert "Seeds per net" not in cap


def test_unfinished_seeds_are_averaged_only_where_none_finished_as_far_as_all_got(tmp_path):
    root = tmp_path / "s"
    d = write_run(root, depth=56, residual=False, status="failed", reason="killed")
    write_points(d, {"train/error": [(100, 70.0), (200, 60.0)], "test/error": [(100, 72.0)]})
    d = write_run(root, depth=56, residual=False, seed=1, status="running")
    write_points(d, {"train/error": [(100, 50.0), (200, 40.0), (300, 30.0)],
                     "test/error": [(100, 52.0), (200, 42.0)]})
    fig = draw("figure1", load_sweep(root))
    train_ax, test_ax = fig.axes
    assert legend_labels(test_ax) == ["plain-56 (failed, running)"]
    train = panel_lines(train_ax)["plain-56:train/error"]
    assert list(train.get_xdata()) == [1.0, 2.0]  # x in hundreds; the failed seed stopped at 200
    assert list(train.get_ydata()) == [60.0, 50.0]
    assert list(panel_lines(test_ax)["plain-56:test/error"].get_ydata()) == [62.0]
    out = tmp_path / "figs"
    assert main(["figure1", "--sweep", str(root), "--out", str(out), "--format", "png"]) == 0
    cap = (out / "figure1.md").read_text()
    assert ("plain-56 seed 0: failed (killed), in its net's mean with its other unfinished seed "
            "as far as all of them got") in cap


def test_final_test_markers_are_the_mean_over_seeds_with_a_min_max_bar(tmp_path):
    root = tmp_path / "fm"
    subset = {"data.eval_subset": 2000}
    for seed, test in enumerate((9.0, 11.0, 13.0)):
        write_run(root, depth=20, residual=False, data="fashion_mnist", seed=seed, test=test,
                  config=subset)
    fig = draw("figure6", load_sweep(root))
    plain = fig.axes[0]
    marker = panel_lines(plain)["plain-20:test/error:final"]
    assert list(marker.get_xdata()) == [6.0] and list(marker.get_ydata()) == [11.0]  # (9+11+13)/3
    (bar,) = bands(plain, "plain-20:test/error:final:band")
    assert y_span(bar) == (9.0, 13.0)


def test_figure7_still_draws_one_run_per_net(tmp_path):
    root = tmp_path / "s"
    for seed, stds in enumerate(([1.0, 2.0], [3.0, 4.0])):
        write_run(root, depth=20, residual=False, seed=seed, responses=stds)
    fig = draw("figure7", load_sweep(root))
    assert list(panel_lines(fig.axes[0])["plain-20:original"].get_ydata()) == [1.0, 2.0]  # seed 0
    out = tmp_path / "figs"
    assert main(["figure7", "--sweep", str(root), "--out", str(out), "--format", "png"]) == 0
    assert "Curves: one run per net, the lowest finished seed" in (out / "figure7.md").read_text()


# ---------------------------------------------------------------- tables over seeds


def test_table6_gives_best_then_mean_std_and_keeps_the_numbers(tmp_path):
    root = tmp_path / "t6"
    # each seed's training error over its last 10% of iterations (steps > 540 of 600); the point
    # at 540 and before is left out
    late = ([(540, 50.0), (560, 1.0), (580, 1.0), (600, 1.0)],
            [(540, 50.0), (560, 1.0), (580, 2.0), (600, 3.0)],
            [(500, 50.0), (600, 4.0)])
    for seed, (err, train) in enumerate(zip((6.8, 6.4, 6.6), late, strict=True)):
        d = write_run(root, depth=110, residual=True, seed=seed, test=err)
        write_points(d, {"train/error": train})
    write_run(root, depth=110, residual=True, seed=3, status="running")
    write_points(write_run(root, depth=20, residual=True, test=8.5), {"train/error": [(600, 5.0)]})
    out = tmp_path / "figs"
    assert main(["table6", "--sweep", str(root), "--out", str(out)]) == 0
    with open(out / "table6.csv") as f:
        rows = {r["net"]: r for r in csv.DictReader(f)}
    r110 = rows["ResNet-110"]
    # mean (6.8+6.4+6.6)/3 = 6.6; deviations ±0.2 and 0: std sqrt(0.08/2) = 0.2; best 6.4
    assert r110["test_error"] == "6.40 (6.60 ± 0.20)"
    assert (r110["runs"], r110["unfinished"]) == ("3", "1")
    assert (float(r110["mean"]), float(r110["std"]), float(r110["best"])) == (6.6, 0.2, 6.4)
    assert rows["ResNet-20"]["test_error"] == "8.50" and rows["ResNet-20"]["std"] == ""
    # Figure 6's training error over the same finished seeds, late means 1, 2, 4: mean 7/3,
    # deviations -4/3, -1/3, 5/3: std sqrt((16 + 1 + 25) / 9 / 2) = sqrt(7/3) = 1.53; best 1.0
    assert r110["train_error"] == "1.00 (2.33 ± 1.53)"
    assert rows["ResNet-20"]["train_error"] == "5.00"
    md = (out / "table6.md").read_text()
    assert "6.40 (6.60 ± 0.20)" in md and "as the paper's Table 6 gives ResNet-110's" in md
    assert "averaged over each run's last 10% of iterations" in md


def test_the_follow_up_and_remedies_tables_use_the_same_cell(tmp_path):
    from .test_figures import write_beyond_run

    root = tmp_path / "s"
    for seed, err in enumerate((5.0, 7.0)):
        d = write_beyond_run(root, "ResNet-110-SD", err, seed=seed)
        d.rename(d.with_name(f"sd-{seed}"))
    rows, _ = figures.OUTPUTS["remedies_table"].table(load_sweep(root))
    # best 5, mean 6, std sqrt((1+1)/1) = 1.41
    assert rows[0]["test_error"] == "5.00 (6.00 ± 1.41)" and rows[0]["runs"] == 2
