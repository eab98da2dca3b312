"""The ``startup`` figure of resnet_lab.figures on hand-made runs: each run's loss and gradient
norm over its first iterations, one line per run named by its switches, and its caption's table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import yaml  # noqa: E402

from resnet_lab import figures  # noqa: E402
from resnet_lab.figures import load_sweep, main  # noqa: E402
from resnet_lab.figures.startup import ITERATIONS, startup_rows  # noqa: E402
from resnet_lab.metric_names import GRAD_NORM, TRAIN_LOSS  # noqa: E402

from .test_figures import base_config, write_run  # noqa: E402

STEPS = 30  # longer than the start-up: points after ITERATIONS are not drawn


def spike(peak: float, at: int) -> list[float]:
    """A loss of 2.3 that climbs to ``peak`` at iteration ``at`` and falls back."""
    return [2.3 + (peak - 2.3) * max(0.0, 1 - abs(s - at) / 3) for s in range(1, STEPS + 1)]


def write_start(root, name, loss, norm=None, *, depth=56, model=None, config=None):
    """A Fashion-MNIST run of ResNet-``depth`` with ``loss`` (and ``norm``: its gradient norm)
    logged at every iteration 1..STEPS."""
    d = write_run(root, depth=depth, residual=True, data="fashion_mnist", name=name, steps=STEPS,
                  params=850_000 + depth, config={"trainer.log_every": 1, **(config or {})})
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    cfg["model"] = {**base_config("fashion_mnist")["model"], "depth": depth, **(model or {})}
    cfg["model"]["in_channels"] = cfg["data"]["channels"]
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    with open(d / "metrics.csv", "a") as f:
        f.writelines(f"{s},{TRAIN_LOSS},{v}\n" for s, v in enumerate(loss, 1))
        f.writelines(f"{s},{GRAD_NORM},{v}\n" for s, v in enumerate(norm or [], 1))
    return d


NORM_56 = [3.0 * 1.5**i for i in range(STEPS)]


@pytest.fixture
def start(tmp_path):
    """ResNet-56 in bf16 and fp32 (a spike of 12.9 at iteration 4), with zero-initialised
    branches (none), and ResNet-20 logged before the gradient norm was (loss only)."""
    root = tmp_path / "cpu_startup"
    write_start(root, "bf16", spike(12.9, 4), NORM_56, config={"trainer.precision": "bf16-mixed"})
    write_start(root, "fp32", spike(12.5, 4), [n * 1.01 for n in NORM_56],
                config={"trainer.precision": "32-true"})
    write_start(root, "zero", spike(2.4, 2), [1.0] * STEPS, model={"zero_init_residual": True},
                config={"trainer.precision": "bf16-mixed"})
    write_start(root, "r20", spike(2.7, 4), depth=20, config={"trainer.precision": "bf16-mixed"})
    return root


def test_one_line_per_run_and_series_named_by_its_switches(start):
    runs = load_sweep(start)
    fig = figures.draw("startup", runs)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "ResNet-20: training loss", "ResNet-56: training loss",
        "ResNet-20: gradient norm", "ResNet-56: gradient norm"]
    lines = {ln.get_gid(): ln for ax in axes for ln in ax.get_lines()}
    # bf16 in three runs of four: the reference, as an ablation's switches are named
    bf16, fp32, zero = "paper defaults", "trainer.precision=32-true", "model.zero_init_residual=true"
    assert set(lines) == {f"ResNet-56:{bf16}:{TRAIN_LOSS}", f"ResNet-56:{fp32}:{TRAIN_LOSS}",
                          f"ResNet-56:{zero}:{TRAIN_LOSS}", f"ResNet-20:{bf16}:{TRAIN_LOSS}",
                          f"ResNet-56:{bf16}:{GRAD_NORM}", f"ResNet-56:{fp32}:{GRAD_NORM}",
                          f"ResNet-56:{zero}:{GRAD_NORM}"}  # ResNet-20 logged no gradient norm
    spike_line = lines[f"ResNet-56:{bf16}:{TRAIN_LOSS}"]
    assert list(spike_line.get_xdata()) == list(range(1, ITERATIONS + 1))  # not past the start-up
    assert list(spike_line.get_ydata()) == pytest.approx(spike(12.9, 4)[:ITERATIONS])
    assert spike_line.get_label() == bf16
    # the same switches, the same colour in both columns
    assert lines[f"ResNet-20:{bf16}:{TRAIN_LOSS}"].get_color() == spike_line.get_color()
    assert lines[f"ResNet-56:{zero}:{TRAIN_LOSS}"].get_color() != spike_line.get_color()
    assert [ax.get_yscale() for ax in axes] == ["linear", "linear", "log", "log"]  # one y per row
    assert {ln.get_linestyle() for ln in lines.values()} == {"-"}  # every switch has a reference
    assert "no train/grad_norm logged" in [t.get_text() for t in axes[2].texts]


def test_a_switch_every_run_names_is_the_line_style_the_others_the_colour(tmp_path):
    root = tmp_path / "grid"  # the precision against each start, as cpu_startup sweeps them
    for precision in ("bf16-mixed", "32-true"):
        for start, model in (("paper", {}), ("zero", {"zero_init_residual": True})):
            write_start(root, f"{start}-{precision}", spike(12.9, 4), NORM_56, model=model,
                        config={"trainer.precision": precision})
    lines = {ln.get_gid(): ln for ax in figures.draw("startup", load_sweep(root)).axes
             for ln in ax.get_lines()}

    def line(*cells):
        return lines[f"ResNet-56:{', '.join(cells)}:{TRAIN_LOSS}"]

    bf16, fp32, zero = ("trainer.precision=bf16-mixed", "trainer.precision=32-true",
                        "model.zero_init_residual=true")
    assert line(bf16).get_label() == bf16 and line(zero, fp32).get_label() == f"{zero}, {fp32}"
    # one colour per start, one line style per precision: equal runs stay visible, both of them
    assert line(bf16).get_color() == line(fp32).get_color() != line(zero, bf16).get_color()
    assert line(zero, bf16).get_color() == line(zero, fp32).get_color()
    assert line(bf16).get_linestyle() == line(zero, bf16).get_linestyle() != line(fp32).get_linestyle()


def test_the_table_gives_the_peak_loss_and_the_first_gradient_norms(start):
    rows, columns = startup_rows(load_sweep(start))
    assert columns == ["net", "switches", "loss_1", "peak_loss", "peak_at", "loss_20",
                       "grad_norm_1", "grad_norm_2", "grad_norm_3", "grad_norm_4", "grad_norm_5"]
    by = {(r["net"], r["switches"]): r for r in rows}
    r = by["ResNet-56", "paper defaults"]
    assert (r["loss_1"], r["peak_loss"], r["peak_at"]) == (pytest.approx(2.3), pytest.approx(12.9), 4)
    assert r["loss_20"] == pytest.approx(2.3)
    assert [r[f"grad_norm_{i}"] for i in range(1, 6)] == pytest.approx(NORM_56[:5])
    r20 = by["ResNet-20", "paper defaults"]
    assert (r20["peak_loss"], r20["peak_at"], r20["grad_norm_1"]) == (2.7, 4, None)
    assert [r["net"] for r in rows] == ["ResNet-20", "ResNet-56", "ResNet-56", "ResNet-56"]


def test_cli_writes_the_figure_and_a_caption_with_its_table(start, tmp_path):
    out = tmp_path / "figs"
    assert main(["startup", "--sweep", str(start), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"startup.png", "startup.pdf", "startup.md"}
    md = (out / "startup.md").read_text()
    # runs of different recipes side by side (their switches), not refused as one curve
    assert "different recipes" not in md and "## The first iterations" in md
    assert "| ResNet-56 | paper defaults                | 2.3    | 12.9      | 4       |" in md
    assert "training loss (the curves): each point is the mean cross-entropy loss" in md
    assert "gradient norm: the global L2 norm of the loss's gradients" in md
    assert "test error" not in md.split("## What the points are")[1].split("##")[0]


def test_runs_without_early_loss_points_are_not_drawn(tmp_path):
    root = tmp_path / "late"
    write_run(root, depth=56, residual=True, data="fashion_mnist", steps=600)  # no train/loss
    with pytest.raises(figures.FiguresError, match="startup: nothing to draw: no run with "
                                                   "train/loss logged in its first 20 iterations"):
        figures.draw("startup", load_sweep(root))


def test_startup_is_drawn_only_when_named():
    assert "startup" in figures.ON_REQUEST and "startup" not in figures.OUTPUTS
