"""The paper's tables from run records: Table 6 (CIFAR test error per depth, mean ± std over
seeds) and Table 3 (ImageNet shortcut options), each row beside the paper's numbers."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from .. import paper
from ..config.schema import MODEL_KEYS
from ..models import build_model, count_params
from .runs import Run


def r2(v: float | None) -> float | None:
    """Two decimals, as the tables and captions show errors in %."""
    return None if v is None else round(v, 2)


def params(r: Run) -> int:
    """The net's parameter count: as the run recorded it (``params`` in summary.json, or in the
    W&B summary), else counted from its model config, for records from before runs wrote it."""
    if r.summary.get("params") is not None:
        return int(r.summary["params"])
    return _count_params(tuple(sorted((k, v) for k, v in r.model.items() if k in MODEL_KEYS)))


@cache
def _count_params(model: tuple) -> int:
    # building a net is the slow part: once per model config, however many seeds share it
    return count_params(build_model(dict(model)))


def table6_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """One row per CIFAR net: test error over its finished seeds (sample std), the paper's
    column beside it (residual nets; plain nets follow without paper numbers)."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.data, not r.residual, r.depth, r.shortcut)].append(r)
    rows = []
    for _, group in sorted(groups.items()):
        r = group[0]
        finals = [x.final("test/error") for x in group if x.status == "done"]
        errors = [e for e in finals if e is not None]
        mean = statistics.fmean(errors) if errors else None
        std = statistics.stdev(errors) if len(errors) > 1 else None
        is_paper = r.residual and r.shortcut == "A"
        paper_ms = paper.TABLE6_RESNET110_MEAN_STD if is_paper and r.depth == 110 else None
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, params=params(r),
            paper_params_M=paper.CIFAR_PARAMS_M.get(r.depth) if is_paper else None,
            runs=len(errors), unfinished=len(group) - len(errors),
            test_error=(f"{mean:.2f} ± {std:.2f}" if std is not None
                        else f"{mean:.2f}" if mean is not None else ""),
            mean=r2(mean), std=r2(std), best=r2(min(errors, default=None)),
            paper_test_error=paper.TABLE6_TEST_ERROR.get(r.depth) if is_paper else None,
            paper_mean_std=f"{paper_ms[0]} ± {paper_ms[1]}" if paper_ms else None))
    columns = ["net", "depth", "params", "paper_params_M", "runs", "unfinished", "test_error",
               "mean", "std", "best", "paper_test_error", "paper_mean_std"]
    return rows, _with_data(rows, columns)


def _paper_table3(r: Run) -> tuple[float | None, float | None]:
    if r.residual and (str(r.depth), r.shortcut) in paper.TABLE3:
        return paper.TABLE3[(str(r.depth), r.shortcut)]
    plain_or_a = not r.residual or r.shortcut == "A"  # Table 2's nets: plain and option A
    kind = "resnet" if r.residual else "plain"
    return (paper.TABLE2_TOP1.get((kind, r.depth)) if plain_or_a else None), None


def shortcut_rows(runs: Sequence[Run]) -> tuple[list[dict], list[str]]:
    """Table 3: one row per ImageNet run, final top-1/top-5 error beside the paper's."""
    rows = []
    for r in sorted(runs, key=lambda r: (r.key, r.seed)):
        top1, top5 = _paper_table3(r)
        rows.append(dict(
            data=r.data, net=r.net, depth=r.depth, shortcut=r.shortcut if r.residual else "-",
            seed=r.seed, status=r.status, steps=r.steps,
            top1=r2(r.final("test/error", "val/error")),
            top5=r2(r.final("test/top5_error", "val/top5_error")),
            paper_top1=top1, paper_top5=top5))
    columns = ["net", "depth", "shortcut", "seed", "status", "steps", "top1", "top5",
               "paper_top1", "paper_top5"]
    return rows, _with_data(rows, columns)


def _with_data(rows: list[dict], columns: list[str]) -> list[str]:
    # a data column only when the rows mix data sets
    return (["data"] if len({r["data"] for r in rows}) > 1 else []) + columns
