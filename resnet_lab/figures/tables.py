"""The paper's tables from run records: Table 6 (test error per depth of the CIFAR nets: the
best seed, then mean ± std over seeds, ``seeds.Stats.text``) and Table 3 (shortcut options of
the ImageNet nets), with the paper's numbers beside a row only where its data set and recipe
are the paper's (``paper.*_RECIPE``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from .. import paper
from ..metric_names import TEST_ERROR, TEST_TOP5, TRAIN_ERROR, VAL_ERROR, VAL_TOP5
from ..models.build import build_model
from ..models.inspect import count_params, count_weights
from ..models.naming import remedy
from ..schedule import warmup_enabled
from .recipes import paper_mismatches
from .runs import Run
from .seeds import by_net, stats


def r2(v: float | None) -> float | None:
    """Two decimals, as the tables and captions show errors in %."""
    return None if v is None else round(v, 2)


def params(r: Run) -> int:
    """The net's parameter count: as the run recorded it (``params`` in summary.json, or in the
    W&B summary), else counted from its model config, for records from before runs wrote it."""
    if r.summary.get("params") is not None:
        return int(r.summary["params"])
    return _count_params(tuple(sorted(r.model.items())))


@cache
def _count_params(model: tuple) -> int:
    # building a net is the slow part: once per model config, however many seeds share it
    return count_params(build_model(dict(model)))


def paper_ok(group: Sequence[Run], paper_recipe: dict) -> bool:
    """Whether the paper's numbers may stand beside these runs': same data set and recipe."""
    return bool(group) and not any(paper_mismatches(r, paper_recipe) for r in group)


def table6_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per CIFAR net: test error over its finished seeds (``_test_errors``), the paper's
    columns beside it where the data set and recipe are the paper's (``paper.CIFAR10_RECIPE``;
    residual option-A nets; plain nets follow without paper numbers). Without any such row the
    table has no paper columns."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.data, not r.residual, r.depth, r.shortcut)].append(r)
    rows = []
    for _, group in sorted(groups.items()):
        r = group[0]
        is_paper = r.residual and r.shortcut == "A" and paper_ok(group, paper.CIFAR10_RECIPE)
        paper_ms = paper.TABLE6_RESNET110_MEAN_STD if is_paper and r.depth == 110 else None
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, params=params(r),
            paper_params_M=paper.CIFAR_PARAMS_M.get(r.depth) if is_paper else None,
            **_test_errors(group), train_error=_train_error(group),
            paper_test_error=paper.TABLE6_TEST_ERROR.get(r.depth) if is_paper else None,
            paper_mean_std=f"{paper_ms[0]} ± {paper_ms[1]}" if paper_ms else None))
    columns = ["net", "depth", "params", "paper_params_M", "runs", "unfinished", "test_error",
               "mean", "std", "best", "train_error", "paper_test_error", "paper_mean_std"]
    return rows, _with_data(rows, _paper_columns(rows, columns))


def warmup_rule(r: Run) -> str:
    """The warm-up rule a run used, from its config (``optim.warmup``) and, where recorded,
    when it ended (summary.json's ``warmup_ended_at``)."""
    w = ((r.config.get("optim") or {}).get("warmup")) or {}
    if "enabled" not in w:
        return "not recorded"
    setting = w["enabled"]
    on = warmup_enabled(setting, r.family, r.depth)
    why = (f"auto: {'on' if on else 'off'} ({'depth >= 110' if on else 'depth < 110'}, our "
           f"reading of the paper)" if setting == "auto" else f"{str(setting).lower()} (forced)")
    if not on:
        return why
    until = (f"running training error over {w.get('window')} iterations < {w.get('error_below'):g}%"
             if w.get("until") == "error" else f"iteration {w.get('steps')}")
    ended = r.summary.get("warmup_ended_at")
    end = (f"; ended at iteration {ended}" if ended is not None
           else "; end not recorded" if r.status == "done" else "; unfinished run")
    ramp = " rising linearly to the base lr" if w.get("ramp") == "linear" else ""
    return f"{why}: lr {w.get('lr'):g}{ramp} until {until}{end}"


def _paper_table3(r: Run) -> tuple[float | None, float | None]:
    if paper_mismatches(r, paper.IMAGENET_RECIPE):
        return None, None  # another data set, recipe or test mode: not comparable
    if r.residual and (str(r.depth), r.shortcut) in paper.TABLE3:
        return paper.TABLE3[(str(r.depth), r.shortcut)]
    plain_or_a = not r.residual or r.shortcut == "A"  # Table 2's nets: plain and option A
    kind = "resnet" if r.residual else "plain"
    return (paper.TABLE2_TOP1.get((kind, r.depth)) if plain_or_a else None), None


def shortcut_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """Table 3: one row per ImageNet run, final top-1/top-5 error beside the paper's (where the
    data set, recipe and 10-crop testing are the paper's: ``paper.IMAGENET_RECIPE``)."""
    rows = []
    for r in sorted(runs, key=lambda r: (r.key, r.seed)):
        top1, top5 = _paper_table3(r)
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, shortcut=r.shortcut if r.residual else "-",
            seed=r.seed, status=r.status, steps=r.steps,
            top1=r2(r.final(TEST_ERROR, VAL_ERROR)),
            top5=r2(r.final(TEST_TOP5, VAL_TOP5)),
            paper_top1=top1, paper_top5=top5))
    columns = ["net", "depth", "shortcut", "seed", "status", "steps", "top1", "top5",
               "paper_top1", "paper_top5"]
    return rows, _with_data(rows, _paper_columns(rows, columns))


def _paper_columns(rows: list[dict], columns: list[str]) -> list[str]:
    # the paper's columns only where some row has the paper's numbers
    return [c for c in columns
            if not c.startswith("paper_") or any(r.get(c) is not None for r in rows)]


def _with_data(rows: list[dict], columns: list[str]) -> list[str]:
    # a data column only when the rows mix data sets
    return (["data"] if len({r["data"] for r in rows}) > 1 else []) + columns


# ---------------------------------------------------------------- beyond the paper


@cache
def _count_weights(model: tuple) -> int:
    return count_weights(build_model(dict(model)))


def weights(r: Run) -> int:
    """The net's conv and fc weights, counted from its model config."""
    return _count_weights(tuple(sorted(r.model.items())))


def _paper_recipe(group: Sequence[Run], reported: paper.Reported) -> str:
    """Whether these runs used the recipe behind the paper's number: He et al. 2016 trained with
    the 2015 CIFAR recipe (``paper.CIFAR10_RECIPE``); WRN and ResNeXt with their own."""
    if reported.source.startswith((paper.WRN, paper.RESNEXT)):
        return "the paper's own (longer, weight decay 5e-4): not this run's"
    differ = sorted({m for r in group for m in paper_mismatches(r, paper.CIFAR10_RECIPE)})
    if not differ:
        return "same"
    return f"differs in {differ[0]}" + (f" and {len(differ) - 1} more" if len(differ) > 1 else "")


def _by_net(runs: Sequence[Run]) -> list[tuple[Run, list[Run]]]:
    """The runs grouped by net (``seeds.by_net``), each with its first."""
    return [(group[0], group) for group in by_net(runs)]


# what the columns of _test_errors hold, for the outputs' captions
TEST_ERROR_COLUMNS = ("runs = finished seeds; test_error = the best (lowest) of them, then their "
                      "mean ± sample std in brackets, as the paper's Table 6 gives ResNet-110's "
                      "\"6.43 (6.61 ± 0.16)\" (one seed: its error); mean, std and best: the same "
                      "as numbers")


def _test_errors(group: Sequence[Run]) -> dict:
    """A net's final test errors over its finished seeds (``seeds.stats``): how many, best (mean
    ± sample std) as text, and each as a number."""
    s = stats(x.final(TEST_ERROR) for x in group if x.status == "done")
    return dict(runs=s.n, unfinished=len(group) - s.n, test_error=s.text,
                mean=r2(s.mean), std=r2(s.std), best=r2(s.best))


# Figure 6's claim is about training error, which Table 6 does not give: its column. One logged
# point is the error of a few batches (trainer.log_every iterations), which varies by about a
# point from window to window; the mean over the run's last tenth (at the last lr, in the paper's
# schedules and the CPU studies') varies far less, and keeps that noise out of the seeds' spread.
TRAIN_LATE = 0.1
TRAIN_ERROR_COLUMN = ("train_error: the training error (on augmented batches, BN in training mode) "
                      f"averaged over each run's last {TRAIN_LATE:.0%} of iterations, over the same "
                      "finished seeds and in the same form")


def _train_error(group: Sequence[Run]) -> str:
    """A net's late training error (``Run.late_mean``) over its finished seeds, as ``_test_errors``'
    text."""
    return stats(x.late_mean(TRAIN_ERROR, TRAIN_LATE) for x in group if x.status == "done").text


def beyond_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per net (pre-activation, wide, ResNeXt, and the original ResNets the papers
    compare them with): test error over its finished seeds beside the paper's on CIFAR-10
    (``paper.BEYOND``, with the source and whether the recipe is the one behind it)."""
    rows = []
    for r, group in _by_net(runs):
        reported = paper.BEYOND.get(r.net) if r.data == "cifar10" else None
        rows.append(dict(
            data=r.data, net=r.net, params=params(r), weights_M=round(weights(r) / 1e6, 2),
            paper_params_M=reported.params_m if reported else None, **_test_errors(group),
            paper_test_error=reported.error if reported else None,
            paper_recipe=_paper_recipe(group, reported) if reported and reported.error else None,
            paper_source=reported.source if reported else None))
    columns = ["net", "params", "weights_M", "paper_params_M", "runs", "unfinished", "test_error",
               "mean", "std", "best", "paper_test_error", "paper_recipe", "paper_source"]
    return rows, _with_data(rows, _paper_columns(rows, columns))


# ---------------------------------------------------------------- the remedies


def remedies_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per net (the paper's units and the remedies of the degradation literature): its
    remedy, test and training error over its finished seeds, its wall time per run (stochastic
    depth saves time: its dropped branches are not computed), beside the papers' numbers on
    CIFAR-10 (``paper.REMEDIES``, with the source and its recipe)."""
    rows = []
    for r, group in _by_net(runs):
        done = [x for x in group if x.status == "done"]
        train = stats(x.final(TRAIN_ERROR) for x in done).mean
        time_s = stats(x.summary.get("wall_time_s") for x in done).mean
        reported = paper.REMEDIES.get(r.net) if r.data == "cifar10" else None
        rows.append(dict(
            data=r.data, net=r.net, remedy=remedy(r.model) or "none (BN, He init)", depth=r.depth,
            params=params(r), **_test_errors(group),
            train_error=r2(train),
            wall_time_min=round(time_s / 60, 1) if time_s is not None else None,
            paper_test_error=reported.error if reported else None,
            paper_source=reported.source if reported else None))
    columns = ["net", "remedy", "params", "runs", "unfinished", "test_error", "mean", "std", "best",
               "train_error", "wall_time_min", "paper_test_error", "paper_source"]
    return rows, _with_data(rows, _paper_columns(rows, columns))


def stress_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """The depth stress test, one row per run: did the remedy train the net for its iterations
    (``trains``: finished, the loss finite throughout, the training error below 80%, 10 classes
    being 90% by chance), else how it failed."""
    rows = []
    for r in sorted(runs, key=lambda r: (remedy(r.model), r.depth, r.seed)):
        train = r.final(TRAIN_ERROR)
        reason = r.summary.get("reason") or ""
        if r.status == "done" and train is not None and train < STRESS_LEARNT:
            verdict = "yes"
        elif "diverged" in reason:
            verdict = "diverged"
        elif r.status == "done":
            verdict = "no (did not learn)"
        else:
            verdict = f"no ({r.status})"
        rows.append(dict(data=r.data, net=r.net, remedy=remedy(r.model) or "none (BN, He init)",
                         depth=r.depth, seed=r.seed, status=r.status, steps=r.steps,
                         train_error=r2(train), trains=verdict,
                         wall_time_min=round(r.summary["wall_time_s"] / 60, 1)
                         if r.summary.get("wall_time_s") is not None else None))
    columns = ["net", "remedy", "depth", "seed", "status", "steps", "train_error", "trains",
               "wall_time_min"]
    return rows, _with_data(rows, columns)


STRESS_LEARNT = 80.0  # % training error below which a net counts as learning (chance: 90%)


def stress_lines(runs: Sequence[Run]) -> list[str]:
    """The deepest net each remedy trained."""
    deepest: dict[str, list[int]] = defaultdict(list)
    tried: dict[str, set[int]] = defaultdict(set)
    for row in stress_rows(runs)[0]:
        tried[row["remedy"]].add(row["depth"])
        if row["trains"] == "yes":
            deepest[row["remedy"]].append(row["depth"])
    return [f"- {name}: " + (f"trains up to {max(deepest[name])} layers" if deepest[name]
                             else "trains at none") + f" of {', '.join(map(str, sorted(depths)))}"
            for name, depths in sorted(tried.items())]
