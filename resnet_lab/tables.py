"""Tables a user compares (parameters, FLOPs, errors, images/s): printed and saved alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def markdown_table(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"  # noqa: E731
    out = [line(columns), "| " + " | ".join("-" * w for w in widths) + " |"]
    out += [line(row) for row in cells]
    return "\n".join(out)


def write_table(
    rows: Sequence[Mapping], columns: Sequence[str], stem: str | Path, title: str = "",
    notes: str = "", echo: bool = True,
) -> tuple[Path, Path]:
    """Write ``stem.csv`` (raw values) and ``stem.md`` (title, table, notes); print the table.

    Returns the two paths.
    """
    from .records import atomic_write  # lightning's Logger there: not for every reader of tables

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = stem.with_suffix(".csv"), stem.with_suffix(".md")
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    # whole files or the old ones: two sweeps into one directory both write its table at their end
    atomic_write(csv_path, buf.getvalue())
    table = markdown_table(rows, columns)
    md = (f"# {title}\n\n" if title else "") + table + "\n" + (f"\n{notes}\n" if notes else "")
    atomic_write(md_path, md)
    if echo:
        print((title + "\n" if title else "") + table)
        print(f"saved {csv_path} and {md_path}")
    return csv_path, md_path
