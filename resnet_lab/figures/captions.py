"""The ``<name>.md`` beside every output: what it shows and on which data, what each net's line
and band are over its seeds and how many seeds each net has, which images each curve's points
come from and what the training error is, the sources and devices, every run
with its final errors (``used``: drawn or tabulated), the paper's nets that are missing or did
not finish, duplicates and mixed recipes, and, for the tables, whether the paper's numbers stand
beside ours (and why not), the warm-up rule each run used (Table 6), the switches and
iterations of an ablation's runs (``switches``), so that no output is read without
knowing what went into it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ..metric_names import GRAD_NORM, TEST_ERROR, TRAIN_ERROR, TRAIN_LOSS, VAL_ERROR
from ..tables import markdown_table
from .output import Output
from .recipes import paper_mismatches, run_name
from .runs import Run, data_sets
from .seeds import BAND, by_net, seed_counts
from .tables import r2, warmup_rule

RUN_COLUMNS = ["net", "seed", "status", "steps", "train_error", "test_error", "device", "used",
               "source"]


def titled(out: Output, runs: Sequence[Run]) -> str:
    """The output's title with the data it shows: ``Table 6: test error per depth, on
    Fashion-MNIST``."""
    return f"{out.title}, on {data_sets(runs)}"


def run_rows(runs: Sequence[Run], used: Sequence[Run]) -> list[dict]:
    return [dict(net=r.net, seed=r.seed, status=r.status, steps=r.steps,
                 train_error=r2(r.final(TRAIN_ERROR)),
                 test_error=r2(r.final(TEST_ERROR, VAL_ERROR)), device=r.device,
                 used="yes" if any(r is u for u in used) else "no", source=r.source)
            for r in sorted(runs, key=lambda r: (r.key, r.seed))]


# ---------------------------------------------------------------- what the points are


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else "?"


def _series(out: Output) -> list[str]:
    """The series an output shows: its panels' curves, or (tables, Figure 7) the final errors of
    the runs table."""
    panels = getattr(out.draw, "panels", None)
    if panels:
        found = []
        for p in panels:
            for c in p.curves:
                found += [m for m in c.metrics if m not in found]
        return found
    return [TRAIN_ERROR, TEST_ERROR] + (["responses"] if out.table is None else [])


def _train_text(r: Run, curves: bool, series: str = TRAIN_ERROR) -> str:
    t, d = r.config.get("trainer") or {}, r.data_config
    every, batch = t.get("log_every"), d.get("batch_size")
    images = f" of the {_n(r.train_images)} training images" if r.train_images else ""
    if series == TRAIN_LOSS:
        head, what = "training loss (the curves)", "cross-entropy loss"
    else:
        where = "the curves, and train_error below" if curves else "train_error below: the last point"
        head, what = f"training error ({where})", "error"
    text = (f"{head}: each point is the mean {what} of "
            f"the mini-batches of the last {_n(every)} iterations ({_n(batch)} augmented "
            f"images{images} each, BN in training mode: each batch's own statistics), logged "
            f"while training, not an evaluation of the net")
    if isinstance(every, int) and r.steps % every:
        text += "; the last point covers the iterations since the point before"
    return text + "."


def _grad_norm_text(r: Run) -> str:
    every = (r.config.get("trainer") or {}).get("log_every")
    return (f"gradient norm: the global L2 norm of the loss's gradients over every parameter in the "
            f"point's own iteration (not a mean over the last {_n(every)} iterations), after the "
            f"backward pass and before SGD adds the weight decay and steps "
            f"(trainer.log_grad_norm); the parameters and their gradients are fp32 under bf16 "
            f"autocast too.")


def _test_set(r: Run) -> str:
    if r.data == "imagenet":
        mode = r.data_config.get("test_mode", "center")
        how = {"center": "one center crop", "ten_crop": "10 crops, softmax averaged",
               "multiscale": f"whole images at scales {r.data_config.get('test_scales')}, "
                             f"softmax averaged"}.get(mode, mode)
        return f"the validation folder's images ({how})"
    return f"all {_n(r.test_images)} test images"


def _test_text(r: Run, curves: bool) -> str:
    every = (r.config.get("trainer") or {}).get("eval_every")
    final = f"the final test error (test_error below) is on {_test_set(r)}"
    if r.data == "imagenet":
        return f"test error: {final}; there is no test curve (the validation folder is the test set)."
    if not curves:
        return f"test error: {final}, after the last iteration."
    if r.eval_subset is not None:
        return (f"test error: the curve's points are on the first {_n(r.eval_subset)} of the "
                f"{_n(r.test_images)} test images (data.eval_subset), every {_n(every)} "
                f"iterations; {final}, drawn as a diamond (◆) at the end of the curve, not "
                f"joined to it.")
    return f"test error: every point on {_test_set(r)}, every {_n(every)} iterations; {final}."


def _val_text(r: Run) -> str:
    d, every = r.data_config, (r.config.get("trainer") or {}).get("eval_every")
    if r.data == "imagenet":
        return (f"validation error: the validation folder's images, one center crop (shorter "
                f"side {d.get('val_resize')}), every {_n(every)} iterations.")
    if not d.get("val_size"):
        return "validation error: none (data.val_size=0: no validation split; bold curves show the test error)."
    held = f"the {_n(d['val_size'])} held-out training images (data.val_size)"
    if r.eval_subset is not None and r.eval_subset < d["val_size"]:
        held = f"the first {_n(r.eval_subset)} of {held}"
    return f"validation error: {held}, every {_n(every)} iterations."


def statistics_lines(out: Output, runs: Sequence[Run]) -> list[str]:
    """Which images each series' points come from, and what the training error is; one block
    when every run says the same, else one per group of runs."""
    series, curves = _series(out), out.table is None and out.draw is not None
    curves = curves and "responses" not in series
    texts: dict[tuple[str, ...], list[Run]] = defaultdict(list)
    for r in runs:
        lines = []
        if TRAIN_ERROR in series:
            lines.append(_train_text(r, curves))
        if TRAIN_LOSS in series:
            lines.append(_train_text(r, curves, TRAIN_LOSS))
        if GRAD_NORM in series:
            lines.append(_grad_norm_text(r))
        if VAL_ERROR in series:
            lines.append(_val_text(r))
        if TEST_ERROR in series:
            lines.append(_test_text(r, curves))
        if "responses" in series:
            lines.append(f"layer responses: the finished net on {_test_set(r)}, BN in evaluation mode.")
        texts[tuple(lines)].append(r)
    out_lines = []
    for lines, rs in texts.items():
        if len(texts) > 1:
            out_lines.append(f"- For {', '.join(run_name(r) for r in rs)}:")
            out_lines += [f"  - {line}" for line in lines]
        else:
            out_lines += [f"- {line}" for line in lines]
    return out_lines


# ---------------------------------------------------------------- which runs are drawn


def drawn_text(out: Output, used: Sequence[Run]) -> str:
    """Which runs a figure draws: a curve figure, each net's seeds as one line and band
    (``seeds``), with each net's number of seeds; Figure 7, one run per net (``runs.pick``)."""
    listed = "all runs are listed below, `used` marks the ones drawn."
    if not getattr(out.draw, "panels", None):
        return f"Curves: one run per net, the lowest finished seed (else the lowest seed); {listed}"
    groups = by_net(used)
    if all(len(g) == 1 for g in groups):
        return f"Curves: one run per net (one seed each, so no bands); {listed}"
    return (f"Curves: each net's line is the mean over its finished seeds (a net with none: over "
            f"its unfinished seeds) at the iterations all of them logged, and its shaded band "
            f"spans {BAND} at each iteration; a net drawn from one seed is that run, without a "
            f"band. Seeds per net: {seed_counts(groups)}. {listed[0].upper()}{listed[1:]}")


# ---------------------------------------------------------------- tables: paper column, warm-up


def paper_lines(out: Output, runs: Sequence[Run]) -> list[str]:
    """Whether the paper's numbers stand beside ours, and if not, why not."""
    if out.paper is None or not runs:
        return []
    name, recipe, what = out.paper.name, out.paper.recipe, out.paper.what
    differ: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        for m in paper_mismatches(r, recipe):
            differ[m].append(r)
    if not differ:
        return [f"The paper_* columns are the paper's {name} ({what}); these runs have the same "
                f"data set and recipe."]
    matching = [r for r in runs if not paper_mismatches(r, recipe)]
    head = (f"No paper column: the paper's numbers ({name}) are for {what}; these runs differ"
            if not matching else
            f"The paper_* columns ({name}: {what}) only for "
            f"{', '.join(sorted({r.net for r in matching}))}; the other runs differ")
    shown = list(differ.items())[:8]
    more = f", and {len(differ) - 8} more" if len(differ) > 8 else ""
    return [f"{head} in: {'; '.join(m for m, _ in shown)}{more}."]


def warmup_lines(runs: Sequence[Run]) -> list[str]:
    """The warm-up rule each run used: ``auto`` (depth >= 110) is our reading of the paper, which
    states the warm-up for ResNet-110 and trains ResNet-1202 "as described above"."""
    rules: dict[str, list[Run]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: (r.key, r.seed)):
        rules[warmup_rule(r)].append(r)
    return [f"- {', '.join(run_name(r) for r in rs)}: {rule}" for rule, rs in rules.items()]


# ---------------------------------------------------------------- the caption


def _unfinished_use(out: Output, r: Run, used: Sequence[Run]) -> str:
    """How an unfinished run is used: alone, as far as it got; in a curve figure beside other
    unfinished seeds of its net, in their mean as far as all of them got (``seeds.band``)."""
    curves = bool(getattr(out.draw, "panels", None))
    others = [u for u in used if curves and u.key == r.key and u is not r]
    return (f", in its net's mean with its other unfinished seed{'s' * (len(others) > 1)} as far "
            f"as all of them got" if others else ", drawn as far as it got")


def caption(out: Output, runs: Sequence[Run], used: Sequence[Run], sources: Sequence[str],
            smooth: int = 1, notes: Sequence[str] = ()) -> str:
    """The body of ``<name>.md``: what, on which images, from where, which runs, and what is
    missing; ``notes``: duplicates and mixed recipes found when the sources were merged."""
    devices = ", ".join(f"{d} ({n} run{'s' * (n > 1)})"
                        for d, n in sorted(Counter(r.device for r in runs).items()))
    how = ("`used`: every run, unfinished ones too (status) with their last logged values."
           if out.per_run else
           "`used` marks the finished runs, whose final errors the table reports." if out.table
           else drawn_text(out, used))
    if smooth > 1:
        how += f" Training error smoothed with a trailing mean of {smooth} points."
    present = {r.net for r in runs}
    missing = [n for n in out.expected if n not in present]
    gaps = [f"- Not in these records (the paper's nets for this output): {', '.join(missing)}."
            ] if missing else []
    gaps += [f"- {r.net} seed {r.seed}" + (f" ({r.source})" if out.per_run else "") + f": {r.status}"
             + (f" ({r.summary['reason']})" if r.summary.get("reason") else "")
             + (_unfinished_use(out, r, used) if any(r is u for u in used) else ", not used")
             for r in sorted(runs, key=lambda r: (r.key, r.seed)) if r.status != "done"]
    paper_note = paper_lines(out, runs)
    sections = [
        out.about, "", how, "", *([*paper_note, ""] if paper_note else []),
        f"Data set: {data_sets(runs)}. Devices: {devices}.",
        f"Sources: {'; '.join(sources)}.", "",
        "## What the points are", "", *statistics_lines(out, runs), ""]
    for section in out.sections:
        sections += [f"## {section.title}", "", *section.lines(runs), ""]
    sections += ["## Runs", "", markdown_table(run_rows(runs, used), RUN_COLUMNS), "",
                 "## Missing or unfinished", "", *(gaps or ["- none"]), ""]
    if notes:
        sections += ["## Duplicates and recipes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(sections)
