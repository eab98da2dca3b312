"""The paper's outputs, one ``Output`` each in ``OUTPUTS`` (figure1, figure4, figure6, figure7,
table6, shortcuts): which runs it is about, how it is drawn or tabulated, and its caption; and
``render``, which writes one of them (PNG and PDF, or CSV and Markdown, plus ``<name>.md``).
``ON_REQUEST`` holds the outputs of an ablation sweep (``switches``, ``startup``): drawn only when
named, not by ``all`` nor on the studies' dashboards.

One line per net (``Run.key``: data set and model config) in the curve figures: the mean over
its finished seeds (else over its unfinished ones) at the iterations all of them logged, in a
min-max band (``seeds``); a net with one seed is drawn as the paper's single-run curves. Figure 7
draws one run per net (``runs.pick``: the lowest finished seed, else the lowest seed): a layer's
response std is not averaged over seeds. The tables use every finished seed (``seeds.stats``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from .. import paper
from ..metric_names import GRAD_NORM, TEST_ERROR, TRAIN_ERROR, TRAIN_LOSS, VAL_ERROR
from ..models.naming import he2015, remedy
from ..tables import markdown_table, write_table
from .captions import RUN_COLUMNS, caption, run_rows, titled, warmup_lines
from .curves import Curve, Panel, draw_curves, draw_responses
from .output import Output, PaperTable, Section, always
from .recipes import check_recipes
from .runs import FiguresError, Run, pick
from .seeds import averaged
from .startup import ITERATIONS, StartupFigure, started, startup_lines
from .switches import LOSS, switch_lines, switch_rows
from .tables import (
    TEST_ERROR_COLUMNS,
    TRAIN_ERROR_COLUMN,
    beyond_rows,
    remedies_rows,
    shortcut_rows,
    stress_lines,
    stress_rows,
    table6_rows,
)


def _he2015(r: Run) -> bool:
    """A net of the 2015 paper's design (``naming.he2015``: original units, CIFAR's basic, width
    1, no groups, no dropout, every later option at its default); the follow-ups' nets have
    outputs of their own, below OUTPUTS."""
    return he2015(r.model)


def _cifar(r: Run) -> bool:
    return r.family == "cifar" and _he2015(r)


def _imagenet(r: Run) -> bool:
    return r.family == "imagenet" and _he2015(r)


_always = always
TRAIN, TEST, VAL = (TRAIN_ERROR,), (TEST_ERROR,), (VAL_ERROR, TEST_ERROR)
# Fig. 1 draws one series per panel; Figs. 4 and 6 pair a net's training and test curves in one
# colour, and only the bold one names the net in the legend.
FIG1_TRAIN = Curve(TRAIN, dict(lw=1.3), smooth=True)
FIG1_TEST = Curve(TEST, dict(lw=1.3))
DASHED_TRAIN = Curve(TRAIN, dict(lw=0.9, ls="--"), legend=False, smooth=True)
THIN_TRAIN = Curve(TRAIN, dict(lw=0.8), legend=False, smooth=True)
BOLD_TEST, BOLD_VAL = Curve(TEST, dict(lw=2.0)), Curve(VAL, dict(lw=2.0))


@dataclass(frozen=True)
class CurveFigure:
    """A curve figure's panels, the paper's y range (%) and its key line; called as ``draw``.
    Kept as data so that other views of the same figure (the W&B dashboards) read the panels."""
    panels: tuple[Panel, ...]
    paper_range: tuple[float, float]
    key: str = ""

    def __call__(self, runs: Sequence[Run], title: str, smooth: int = 1) -> Figure:
        return draw_curves(runs, self.panels, title, self.paper_range, self.key, smooth)


OUTPUTS = {
    "figure1": Output(
        "Figure 1: plain nets, training and test error",
        keep=lambda r: _cifar(r) and not r.residual,
        about="Training error (left) and test error (right) of the plain CIFAR-family nets "
              "against iterations. In the paper (CIFAR-10, plain-20 and plain-56) the deeper net "
              "has the higher training error and so the higher test error: degradation, not "
              "over-fitting.",
        needs="plain CIFAR-family net with logged errors", expected=("plain-20", "plain-56"),
        draw=CurveFigure((Panel("training error", _always, (FIG1_TRAIN,), "training error (%)"),
                          Panel("test error", _always, (FIG1_TEST,), "test error (%)")), (0, 20))),
    "figure6": Output(
        "Figure 6: training (dashed) and test (bold) error", keep=_cifar,
        about="Dashed lines: training error; bold lines: test error; one colour per depth. "
              "Left: plain nets; middle: ResNets up to 110 layers; right: ResNets of 110 layers "
              "and more (the paper: ResNet-110 and ResNet-1202).",
        needs="CIFAR-family net with logged errors",
        expected=tuple(f"plain-{d}" for d in (20, 32, 44, 56))
        + tuple(f"ResNet-{d}" for d in paper.CIFAR_DEPTHS),
        draw=CurveFigure(tuple(Panel(title, keep, (DASHED_TRAIN, BOLD_TEST)) for title, keep in (
                              ("plain", lambda r: not r.residual),
                              ("ResNet, depth ≤ 110", lambda r: r.residual and r.depth <= 110),
                              ("ResNet, depth ≥ 110", lambda r: r.residual and r.depth >= 110))),
                         (0, 20), "dashed: training error, bold: test error")),
    "figure4": Output(
        "Figure 4: ImageNet-family nets, training (thin) and validation (bold) error",
        keep=_imagenet,
        about="Thin lines: training error; bold lines: validation error (val/error, center "
              "crop; test/error where a run has no validation split). Left: plain nets; right: "
              "ResNets (the paper: plain-18/34 and ResNet-18/34 with option A).",
        needs="ImageNet-family net with logged errors",
        expected=("plain-18", "plain-34", "ResNet-18-A", "ResNet-34-A"),
        draw=CurveFigure(tuple(Panel(title, keep, (THIN_TRAIN, BOLD_VAL)) for title, keep in (
                              ("plain", lambda r: not r.residual), ("ResNet", lambda r: r.residual))),
                         (20, 60), "thin: training error, bold: validation error")),
    "figure7": Output(
        "Figure 7: standard deviation of layer responses", keep=_cifar,
        usable=lambda r: bool(r.responses),
        about="Std of each 3x3 layer's response (its output after BN, before the ReLU or the "
              "addition) over the evaluation set. Top: layers in their original order; bottom: "
              "the same stds sorted in descending order. The paper finds the ResNets' responses "
              "smaller than the plain nets'.",
        needs="CIFAR-family net with responses.json", draw=draw_responses,
        expected=("plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110")),
    "table6": Output(
        "Table 6: test error per depth of the CIFAR-family nets", keep=_cifar, usable=_always,
        table=table6_rows, sections=(Section("Warm-up", warmup_lines),),
        paper=PaperTable("Table 6", paper.CIFAR10_RECIPE,
                         "CIFAR-10, trained on all 50k training images with the paper's recipe"),
        about="Final test error (%) of the CIFAR-family nets: " + TEST_ERROR_COLUMNS + "; "
              + TRAIN_ERROR_COLUMN + ". Where "
              "the data set and recipe are the paper's, paper_test_error is Table 6's (for "
              "ResNet-110 its best of 5 runs, paper_mean_std their mean ± std) and "
              "paper_params_M its parameters in millions.",
        needs="CIFAR-family net", expected=tuple(f"ResNet-{d}" for d in paper.CIFAR_DEPTHS)),
    "shortcuts": Output(
        "Table 3: shortcut options of the ImageNet-family nets", keep=_imagenet, usable=_always,
        table=shortcut_rows,
        paper=PaperTable("Tables 2 and 3", paper.IMAGENET_RECIPE,
                         "ImageNet with the paper's recipe, 10-crop testing"),
        about="Final top-1 and top-5 error (%) of the ImageNet-family nets (test/error: the "
              "validation set in data.test_mode; unfinished runs: their last val/error, one "
              "center crop). The paper's numbers (Table 3; plain and option-A nets from Table 2, "
              "10-crop) stand beside runs with the paper's data set, recipe and 10-crop testing "
              "only.",
        needs="ImageNet-family net", expected=("ResNet-34-A", "ResNet-34-B", "ResNet-34-C")),
}


# ---------------------------------------------------------------- beyond the paper
# Pre-activation (He et al. 2016), wide (Zagoruyko & Komodakis 2016) and ResNeXt (Xie et al.
# 2017) nets: a figure in Figure 6's style per study and one table beside their papers' numbers.


@dataclass(frozen=True)
class PresentPanels(CurveFigure):
    """A CurveFigure that leaves out the panels none of the runs belongs to (the plain panel of
    a study that trains only ResNets); the W&B dashboards skip such panels too."""

    def __call__(self, runs: Sequence[Run], title: str, smooth: int = 1) -> Figure:
        panels = tuple(p for p in self.panels if any(p.keep(r) for r in runs)) or self.panels
        return draw_curves(runs, panels, title, self.paper_range, self.key, smooth)


def _grouped(r: Run) -> bool:
    return r.model["cardinality"] > 1 or r.model["base_width"] != 64


def _thin(r: Run) -> bool:
    """A CIFAR ResNet of width 1 without groups, either unit order."""
    return r.family == "cifar" and r.model["width"] == 1 and not _grouped(r)


def _preact_comparison(r: Run) -> bool:
    # The 2015 design's nets from 56 layers, the depths these comparisons use (CPU: 56, 110;
    # CIFAR-10: 110 to 1202), so the shallow studies' dashboards do not take this figure.
    return _thin(r) and not remedy(r.model) and (not _he2015(r) or r.depth >= 56)


def _wide(r: Run) -> bool:
    return r.family == "cifar" and not _thin(r) and not remedy(r.model)


def _remedies(r: Run) -> bool:
    # the residual nets with a remedy, and the paper's units they are compared with, from 56
    # layers (the depths of these comparisons), for the same reason as _preact_comparison
    return _thin(r) and r.residual and (_remedy(r) or (_he2015(r) and r.depth >= 56))


def _remedy(r: Run) -> bool:
    return bool(remedy(r.model))


PREACT_NETS = tuple(n for d in (110, 164, 1001, 1202) for n in (f"ResNet-{d}", f"preact-ResNet-{d}"))
WIDE_NETS = ("WRN-16-8", "WRN-28-10", "ResNeXt-29-8x64d")
OUTPUTS.update({
    "preact": Output(
        "Pre-activation: training (dashed) and test (bold) error", keep=_preact_comparison,
        about="He et al. 2016 (Identity Mappings): the same nets with the original units (conv-"
              "BN-ReLU, the shortcut added before the last ReLU) and with pre-activation units "
              "(BN-ReLU-conv, nothing after the addition). Dashed lines: training error; bold "
              "lines: test error; one colour per depth. Left: plain nets (a pre-activation net's "
              "plain twin is the plain net itself); middle: original units; right: pre-activation "
              "units (the paper: 110 and 1202 layers with basic units, 164 and 1001 with "
              "bottlenecks).",
        needs="CIFAR-family ResNet of width 1 with logged errors", expected=PREACT_NETS,
        draw=PresentPanels(tuple(Panel(title, keep, (DASHED_TRAIN, BOLD_TEST)) for title, keep in (
                               ("plain", lambda r: not r.residual),
                               ("ResNet, original units", lambda r: r.residual and r.model["block"] == "original"),
                               ("ResNet, pre-activation units", lambda r: r.residual and r.model["block"] == "preact"))),
                           (0, 20), "dashed: training error, bold: test error")),
    "wide": Output(
        "Wide ResNets and ResNeXt: training (dashed) and test (bold) error", keep=_wide,
        about="Wide ResNets (Zagoruyko & Komodakis 2016; WRN-d-k: pre-activation basic units, "
              "stages k times wider, d counting the 1x1 projections) and ResNeXt (Xie et al. "
              "2017; ResNeXt-29 CxDd: bottlenecks whose 3x3 conv has C groups of D channels). "
              "Dashed lines: training error; bold lines: test error; one colour per net.",
        needs="wide or grouped CIFAR-family net with logged errors", expected=WIDE_NETS,
        draw=PresentPanels(tuple(Panel(title, keep, (DASHED_TRAIN, BOLD_TEST)) for title, keep in (
                               ("Wide ResNets", lambda r: not _grouped(r) and not r.model["dropout"]),
                               ("Wide ResNets with dropout", lambda r: not _grouped(r) and r.model["dropout"]),
                               ("ResNeXt", _grouped))),
                           (0, 20), "dashed: training error, bold: test error")),
    "beyond": Output(
        "Pre-activation, wide and ResNeXt nets: test error beside their papers'", keep=lambda r:
        r.family == "cifar" and not remedy(r.model) and (not _he2015(r) or r.net in paper.BEYOND),
        usable=_always,
        table=beyond_rows,
        about="Final test error (%) of the follow-ups' nets and of the original ResNets they are "
              "compared with: " + TEST_ERROR_COLUMNS + ". On CIFAR-10 the papers' numbers stand "
              "beside ours (paper.BEYOND, with their sources); paper_recipe says whether our "
              "runs used the recipe behind the paper's number. weights_M: the conv and fc "
              "weights in millions, what the 2016-17 papers' parameter counts match (params: all "
              "parameters, BN's too).",
        needs="pre-activation, wide or grouped CIFAR-family net",
        expected=(*PREACT_NETS, *WIDE_NETS)),
})


# ---------------------------------------------------------------- the remedies
# Stochastic depth (Huang et al. 2016), nets without normalisation with He init, Fixup (Zhang et
# al. 2019), ReZero (Bachlechner et al. 2020) and SkipInit (De & Smith 2020): Figure 6's style, one
# panel per remedy, and one table beside their papers' numbers.

REMEDY_PANELS = ("none (BN, He init)", "stochastic depth", "no BN, He init", "Fixup", "ReZero",
                 "SkipInit")
REMEDY_NETS = ("ResNet-110", "ResNet-110-SD", "ResNet-1202", "ResNet-1202-SD", "ResNet-110-noBN",
               "Fixup-ResNet-110", "SkipInit-ResNet-110")
OUTPUTS.update({
    "remedies": Output(
        "Remedies for depth: training (dashed) and test (bold) error", keep=_remedies,
        anchor=_remedy,
        about="The same residual nets trained with the paper's units (BN after every conv, He "
              "init) and with the remedies that followed: stochastic depth (Huang et al. 2016: "
              "each unit's branch skipped for whole mini-batches, with a probability rising to "
              "1 - p_L = 0.5 at the last unit), no normalisation with He init, Fixup (Zhang et "
              "al. 2019: no normalisation, each branch's last layer and the classifier starting "
              "at 0, scalar biases and multipliers), ReZero (Bachlechner et al. 2020: a learnable "
              "scalar from 0 on each branch, with BN) and SkipInit (De & Smith 2020: the same "
              "without BN). Dashed lines: training error; bold lines: test error; one colour per "
              "depth, one panel per remedy.",
        needs="net with a remedy (stochastic depth, no BN, Fixup, ReZero, SkipInit) with logged "
              "errors", expected=REMEDY_NETS,
        draw=PresentPanels(tuple(
            Panel(name, lambda r, name=name: (remedy(r.model) or REMEDY_PANELS[0]) == name,
                  (DASHED_TRAIN, BOLD_TEST)) for name in REMEDY_PANELS),
            (0, 20), "dashed: training error, bold: test error")),
    "remedies_table": Output(
        "Remedies for depth: test error and training time beside their papers'", keep=_remedies,
        usable=_always, anchor=_remedy, table=remedies_rows,
        about="Final test error (%) of each net over its finished seeds (" + TEST_ERROR_COLUMNS
              + "), its final training error (mean over seeds) and its wall time per run "
              "(minutes: stochastic depth's dropped branches are not computed). On CIFAR-10 the "
              "papers' numbers stand beside ours (paper.REMEDIES, with their sources; their "
              "recipes are their own, said in paper_source).",
        needs="net with a remedy (stochastic depth, no BN, Fixup, ReZero, SkipInit)",
        expected=REMEDY_NETS),
})


# ---------------------------------------------------------------- ablations, on request only

DOTTED = dict(lw=1.2, marker=".", ms=3)  # a point per iteration: single-iteration spikes show

ON_REQUEST = {
    "stress": Output(
        "Depth stress test: which remedies train the deepest nets", keep=_remedies,
        usable=_always, anchor=_remedy, table=stress_rows, per_run=True,
        sections=(Section("The deepest net each remedy trained", stress_lines),),
        about="One row per run of the depth stress test: the same net at growing depths, with "
              "the paper's units and each remedy, trained for a few hundred iterations. trains: "
              "finished with a finite loss and a training error below 80% (chance: 90%); "
              "diverged: stopped on a NaN or infinite loss (the run's reason); otherwise how it "
              "ended. The section below gives the deepest net each remedy trained.",
        needs="net with a remedy (stochastic depth, no BN, Fixup, ReZero, SkipInit)",
        expected=()),
    "switches": Output(
        "Switches: the runs of an ablation sweep side by side", keep=_always, usable=_always,
        table=switch_rows, series=(LOSS,), per_run=True,
        sections=(Section("Switches, iterations and the early loss peak", switch_lines),),
        about="One row per run: its net, the switches (config keys) in which it differs from "
              "the other runs, its final test and training error (%; unfinished runs: their last "
              "logged values, see status), the early peak of its training loss (early_peak_loss, "
              "at iteration early_peak_at) and its iterations (steps).",
        needs="run", expected=()),
    "startup": Output(
        "Start-up: training loss and gradient norm of the first iterations", keep=_always,
        usable=started, per_run=True, series=(TRAIN_LOSS, GRAD_NORM),
        draw=StartupFigure((Panel("training loss", _always, (Curve((TRAIN_LOSS,), DOTTED),), "loss"),
                            Panel("gradient norm", _always, (Curve((GRAD_NORM,), DOTTED),),
                                  "global L2 norm (log)"))),
        sections=(Section("The first iterations", startup_lines),),
        about=f"Each run's training loss (top) and the global L2 norm of its gradients (bottom) "
              f"at iterations 1 to {ITERATIONS}, one column per net, one line per run named by "
              f"the config keys (switches) in which it differs from the other runs. Made for "
              f"ResNet-56's start-up loss spike (cpu_startup): whether it follows the "
              f"precision, the learning rate of the first iterations or the initialisation.",
        needs=f"run with train/loss logged in its first {ITERATIONS} iterations", expected=()),
}


def output(name: str) -> Output:
    """The output called ``name``, of OUTPUTS or ON_REQUEST."""
    return OUTPUTS[name] if name in OUTPUTS else ON_REQUEST[name]


def select(name: str, runs: Sequence[Run], sources: Sequence[str] = ()) -> tuple[list, list]:
    """The runs an output is about, and those of them it can use; FiguresError when none."""
    out = output(name)
    mine = [r for r in runs if out.keep(r)]
    usable = out.drawn_from(mine)
    if not usable:
        where = f" in {'; '.join(sources)}" if sources else ""
        raise FiguresError(f"{name}: nothing to draw: no {out.needs} among the {len(runs)} "
                           f"runs{where}")
    return mine, usable


def drawn(out: Output, runs: Sequence[Run]) -> list[Run]:
    """The runs of ``runs`` that a figure draws: every one for a ``per_run`` output (an
    ablation's runs differ in their switches, not as seeds of a net); a curve figure averages
    each net's seeds (``seeds.averaged``), Figure 7 takes one run per net (``runs.pick``)."""
    if out.per_run:
        return list(runs)
    return averaged(runs) if isinstance(out.draw, CurveFigure) else pick(runs)


def draw(name: str, runs: Sequence[Run], smooth: int = 1) -> Figure:
    """Figure ``name`` from any runs (those it is not about are ignored), one line per net."""
    out = output(name)
    used = drawn(out, select(name, runs)[1])
    return out.draw(used, title=titled(out, used), smooth=smooth)


def render(name: str, runs: Sequence[Run], out_dir: str | Path, sources: Sequence[str],
           formats: Sequence[str] = ("png", "pdf"), smooth: int = 1, dpi: int = 150,
           notes: Sequence[str] = (), mixed_recipes: bool = False) -> list[Path]:
    """Draw (or tabulate) one output from ``runs``; return the paths written. Runs of different
    recipes are refused in one curve or row, and in one output unless ``mixed_recipes``
    (``recipes.check_recipes``; a ``per_run`` output compares them); ``notes`` (duplicates
    found in the sources) go in the caption."""
    out, out_dir = output(name), Path(out_dir)
    mine, usable = select(name, runs, sources)
    if not out.per_run:
        notes = [*notes, *check_recipes(name, usable, mixed_recipes)]
    out_dir.mkdir(parents=True, exist_ok=True)
    if out.table:
        rows, columns = out.table(usable)
        used = list(usable) if out.per_run else [r for r in usable if r.status == "done"]
        text = caption(out, mine, used, sources, notes=notes)
        return list(write_table(rows, columns, out_dir / name, title=titled(out, usable), notes=text))
    picked, fig = drawn(out, usable), draw(name, usable, smooth)
    paths = [out_dir / f"{name}.{fmt}" for fmt in formats]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    md = out_dir / f"{name}.md"
    title = titled(out, picked)
    md.write_text(f"# {title}\n\n{caption(out, mine, picked, sources, smooth, notes)}")
    print(title, markdown_table(run_rows(mine, picked), [*RUN_COLUMNS[:6], "used"]), sep="\n")
    print(f"saved {', '.join(str(p) for p in [*paths, md])}")
    return [*paths, md]
