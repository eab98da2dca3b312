"""The ``<name>.md`` beside every output: what it shows, from which sources and devices, every
run with its final errors (``used``: drawn or tabulated), and the paper's nets that are missing
or did not finish, so that a figure is never read without knowing what went into it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..tables import markdown_table
from .runs import Run, data_sets
from .tables import r2

if TYPE_CHECKING:
    from .outputs import Output

RUN_COLUMNS = ["net", "seed", "status", "steps", "train_error", "test_error", "device", "used",
               "source"]


def run_rows(runs: Sequence[Run], used: Sequence[Run]) -> list[dict]:
    return [dict(net=r.net, seed=r.seed, status=r.status, steps=r.steps,
                 train_error=r2(r.final("train/error")),
                 test_error=r2(r.final("test/error", "val/error")), device=r.device,
                 used="yes" if any(r is u for u in used) else "no", source=r.source)
            for r in sorted(runs, key=lambda r: (r.key, r.seed))]


def caption(out: Output, runs: Sequence[Run], used: Sequence[Run], sources: Sequence[str],
            smooth: int = 1) -> str:
    """The body of ``<name>.md``: what, from where, which runs, and what is missing."""
    devices = ", ".join(f"{d} ({n} run{'s' * (n > 1)})"
                        for d, n in sorted(Counter(r.device for r in runs).items()))
    how = ("`used` marks the finished runs, whose final errors the table reports." if out.table
           else "Curves: one run per net, the lowest finished seed (else the lowest seed); all "
           "runs are listed below, `used` marks the ones drawn.")
    if smooth > 1:
        how += f" Training error smoothed with a trailing mean of {smooth} points."
    present = {r.net for r in runs}
    missing = [n for n in out.expected if n not in present]
    notes = [f"- Not in these records (the paper's nets for this output): {', '.join(missing)}."
             ] if missing else []
    notes += [f"- {r.net} seed {r.seed}: {r.status}"
              + (f" ({r.summary['reason']})" if r.summary.get("reason") else "")
              + (", drawn as far as it got" if any(r is u for u in used) else ", not used")
              for r in sorted(runs, key=lambda r: (r.key, r.seed)) if r.status != "done"]
    return "\n".join([
        out.about, "", how, "", f"Data set: {data_sets(runs)}. Devices: {devices}.",
        f"Sources: {'; '.join(sources)}.", "", "## Runs", "",
        markdown_table(run_rows(runs, used), RUN_COLUMNS), "", "## Missing or unfinished", "",
        *(notes or ["- none"]), ""])
