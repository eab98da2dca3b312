"""What one of the outputs is (``Output``), with everything a view of it needs: the runs it takes,
how it is drawn or tabulated, its caption's own sections and the paper's table it sits beside.
``outputs.OUTPUTS`` holds them; nothing in figures/ or dashboard/ asks for an output by its name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from ..metric_names import ERRORS
from .runs import Run


def logged(r: Run) -> bool:
    return any(r.metrics.get(m) for m in ERRORS)


def always(r: Run) -> bool:
    return True


@dataclass(frozen=True)
class PaperTable:
    """The paper's table an output sits beside: its numbers stand beside a run's only where the
    run has every value of ``recipe`` (paper.py)."""

    name: str  # "Table 6"
    recipe: Mapping[str, Any]
    what: str  # what the paper's numbers are of, in words


@dataclass(frozen=True)
class Section:
    """A section of the caption (``<name>.md``) that only this output has."""

    title: str
    lines: Callable[[Sequence[Run]], list[str]]


@dataclass(frozen=True)
class Output:
    title: str
    about: str  # the caption's first paragraph
    keep: Callable[[Run], bool]  # the runs this output is about (all seeds, any status)
    needs: str  # ... in words, for "nothing to draw"
    expected: tuple[str, ...]  # the paper's nets, as legend names
    usable: Callable[[Run], bool] = logged  # those of them that can be drawn
    draw: Callable[..., Figure] | None = None  # (outputs.drawn's runs, title=, smooth=) -> Figure
    table: Callable[[Sequence[Run]], tuple[list[dict], list[str]]] | None = None
    series: tuple[str, ...] = ()  # series it reads beyond ERRORS (loaded from W&B when drawn)
    # one row per run, comparing runs of different net configs and recipes: not refused
    # (recipes.check_recipes); unfinished runs are rows too, with their last logged values
    per_run: bool = False
    paper: PaperTable | None = None  # a table's: the paper's numbers beside ours
    sections: tuple[Section, ...] = ()  # the caption's sections of its own
    # the runs the output is made for, when the others it keeps are only their baseline (the
    # remedies' figure needs a remedy; the paper's units alone are Figure 6's): None, every run
    anchor: Callable[[Run], bool] | None = None

    def drawn_from(self, runs: Sequence[Run]) -> list[Run]:
        """The runs of ``runs`` this output can draw (kept and usable), none without an anchor."""
        usable = [r for r in runs if self.keep(r) and self.usable(r)]
        if self.anchor is not None and not any(self.anchor(r) for r in usable):
            return []
        return usable
