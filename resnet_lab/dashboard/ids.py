"""The W&B ids the suite itself created for a study's dashboard, and how it finds them again.

``publish`` updates only what the suite made: the report whose id it recorded, the saved
workspace view whose URL it recorded, the run it uploaded the local figures to. The ids are kept
in two places:

- ``<out>/<study>.wandb.json`` (``IdStore``; ``outputs/dashboards/`` by default), one record per
  W&B project (``entity/project``);
- the report's description, as one line (``marker``), so that a lost or fresh output directory
  finds the suite's report again, among the logged-in user's own reports only.

A report of the same title made by anyone or anything else carries no marker, or another
author, and is never touched.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

MARKER = "resnet_lab dashboard"
_MARKER_RE = re.compile(rf"{MARKER} · study (?P<study>\S+)"
                        r"(?: · figures run (?P<figures_run>\S+))?"
                        r"(?: · workspace (?P<workspace_url>\S+))?")


@dataclass(frozen=True)
class SuiteIds:
    """What the suite made for one study in one W&B project ("" where nothing yet)."""

    study: str
    entity: str = ""
    project: str = ""
    report_id: str = ""  # W&B's id of the report (the view id), given on its first save
    report_url: str = ""  # as the library (Report.url) gave it
    workspace_url: str = ""  # as the library (Workspace.url) gave it
    figures_run: str = ""  # the run holding the locally drawn figures

    def marker(self) -> str:
        """The description's line naming the study and the suite's other ids."""
        return " · ".join([f"{MARKER} · study {self.study}",
                           *([f"figures run {self.figures_run}"] if self.figures_run else []),
                           *([f"workspace {self.workspace_url}"] if self.workspace_url else [])])


def read_marker(description: str | None) -> dict[str, str] | None:
    """The ids in a report description's marker line, or None where it has none."""
    m = _MARKER_RE.search(description or "")
    return None if m is None else {k: v for k, v in m.groupdict().items() if v}


def new_figures_run_id(study: str) -> str:
    """A fresh run id for a study's local figures: random, so that it never meets the id of a
    run someone deleted (W&B refuses to reuse those)."""
    return f"figures-{study}-{secrets.token_hex(4)}"


class IdStore:
    """``<out>/<study>.wandb.json``: the study's SuiteIds per W&B project."""

    def __init__(self, out_dir: str | Path, study: str) -> None:
        self.path = Path(out_dir) / f"{study}.wandb.json"
        self.study = study

    def _all(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except json.JSONDecodeError:
            return {}  # a damaged file is as good as none: the description finds the report
        return data if isinstance(data, dict) else {}

    def get(self, entity: str, project: str) -> SuiteIds:
        rec = self._all().get(f"{entity}/{project}") or {}
        known = {k: str(v) for k, v in rec.items() if k in SuiteIds.__dataclass_fields__}
        return replace(SuiteIds(self.study, entity, project), **{
            k: v for k, v in known.items() if k not in ("study", "entity", "project")})

    def put(self, ids: SuiteIds) -> None:
        """Record ``ids`` (written after each save, so a failure later keeps what was made)."""
        data = self._all()
        data[f"{ids.entity}/{ids.project}"] = asdict(ids)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        tmp.replace(self.path)
