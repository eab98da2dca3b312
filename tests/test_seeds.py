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
from resnet_lab.figures import Run, averaged, band, by_net, load_sweep, main, stats  # noqa: E402

from .test_figures import write_run  # noqa: E402


def run(depth: int, seed: int, status: str = "done") -> Run:
    """A run record in memory: seed ``seed`` of the CIFAR plain net of ``depth`` layers."""
    return Run({"model": {"family": "cifar", "depth": depth, "residual": False}, "seed": seed},
               {"status": status}, {}, source=f"plain-{depth} seed {seed}")


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


# ---------------------------------------------------------------- tables over seeds


def test_table6_gives_best_then_mean_std_and_keeps_the_numbers(tmp_path):
    root = tmp_path / "t6"
    for seed, err in enumerate((6.8, 6.4, 6.6)):
        write_run(root, depth=110, residual=True, seed=seed, test=err)
    write_run(root, depth=110, residual=True, seed=3, status="running")
    write_run(root, depth=20, residual=True, test=8.5)
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
    md = (out / "table6.md").read_text()
    assert "6.40 (6.60 ± 0.20)" in md and "as the paper's Table 6 gives ResNet-110's" in md


def test_the_follow_up_and_remedies_tables_use_the_same_cell(tmp_path):
    from .test_figures import write_beyond_run

    root = tmp_path / "s"
    for seed, err in enumerate((5.0, 7.0)):
        d = write_beyond_run(root, "ResNet-110-SD", err, seed=seed)
        d.rename(d.with_name(f"sd-{seed}"))
    rows, _ = figures.OUTPUTS["remedies_table"].table(load_sweep(root))
    # best 5, mean 6, std sqrt((1+1)/1) = 1.41
    assert rows[0]["test_error"] == "5.00 (6.00 ± 1.41)" and rows[0]["runs"] == 2
