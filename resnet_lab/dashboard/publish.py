"""Saving a dashboard to W&B so that running the command again updates what the suite made
before, and nothing else: the report, the saved workspace view and the run holding the local
figures, each found by the id the suite recorded (``ids``), never by title.

- The report: the one whose id ``IdStore`` recorded, if it is still the suite's (its
  description carries the study's marker, its author is the logged-in user); without a record,
  the logged-in user's own report whose description carries the marker. Reports of the same
  title by anyone else are left alone and named. A report whose content the library's model
  rejects (edited in the web app with blocks wandb-workspaces cannot read) is overwritten in
  place by its id: its content would be replaced anyway.
- The workspace: the view at the recorded URL, else a new one.
- The figures run: the recorded run id while that run exists; a deleted one gets a new id
  (W&B refuses to reuse a deleted run's id).

``publish`` holds that logic and talks to W&B only through a ``Backend``: ``WandbBackend`` is
the real one (each method one call into ``wandb`` or ``wandb-workspaces``); the tests pass
recording stand-ins, for the Backend and for W&B's API under the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, Protocol

from ..loggers import TRAIN_JOB_TYPE
from . import views
from .ids import IdStore, SuiteIds, new_figures_run_id, read_marker
from .spec import FIGURES_JOB_TYPE, Dashboard
from .studies import DashboardError


class ReportInfo(NamedTuple):
    """A saved report as W&B's API lists it."""

    id: str
    url: str  # as the API gives it
    title: str
    description: str
    author: str  # the username of the report's creator
    updated_at: str = ""


class Backend(Protocol):
    def count_runs(self, entity: str, project: str, group: str, job_type: str) -> int: ...
    def viewer(self) -> str:
        """The logged-in user's username."""
    def reports(self, entity: str, project: str) -> list[ReportInfo]:
        """The project's saved (not draft) reports."""
    def load_report(self, url: str):
        """The report at ``url``; ValueError where the library's model rejects its content."""
    def save_report(self, report) -> str:
        """Save; the report's URL, as the library gives it."""
    def load_workspace(self, url: str):
        """The saved view at ``url``, or None when there is none; ValueError where the
        library cannot read it."""
    def save_workspace(self, workspace) -> str:
        """Save; the view's URL, as the library gives it."""
    def run_exists(self, entity: str, project: str, run_id: str) -> bool: ...
    def upload_figures(self, entity: str, project: str, group: str, run_id: str,
                       images: dict[str, str]) -> None:
        """Log ``{key: PNG path}`` to the run ``run_id`` of ``group``, created or resumed."""


@dataclass(frozen=True)
class Published:
    report_url: str
    report_created: bool
    workspace_url: str
    workspace_created: bool
    ids: SuiteIds
    others: tuple[str, ...] = ()  # reports of the same title not made by the suite: left alone
    notes: tuple[str, ...] = ()  # what was found gone or unreadable, and what was done instead


def is_suites(r: ReportInfo, study: str, viewer: str) -> bool:
    """A report the suite made for ``study`` as the logged-in user: its description's marker
    names the study, and the user is its author (a copy by anyone else is not the suite's)."""
    marker = read_marker(r.description)
    return marker is not None and marker.get("study") == study and r.author == viewer


def _find_report(d: Dashboard, ids: SuiteIds, reports: list[ReportInfo], viewer: str,
                 notes: list[str]) -> tuple[ReportInfo | None, SuiteIds]:
    """The suite's report of ``d`` among ``reports``, and ``ids`` completed from its marker."""
    mine = sorted((r for r in reports if is_suites(r, d.study, viewer)),
                  key=lambda r: r.updated_at, reverse=True)
    if ids.report_id:
        found = next((r for r in mine if r.id == ids.report_id), None)
        if found is not None:
            return found, ids
        notes.append(f"the report saved before ({ids.report_url or ids.report_id}) is gone or "
                     f"no longer carries the suite's marker")
        ids = replace(ids, report_id="", report_url="")
    if not mine:
        return None, ids
    found = mine[0]  # no record of it here (a fresh output directory): the marker finds it
    notes.append(f"found the suite's report of {d.study} by its description: {found.url}")
    marker = read_marker(found.description) or {}
    return found, replace(ids, figures_run=ids.figures_run or marker.get("figures_run", ""),
                          workspace_url=ids.workspace_url or marker.get("workspace_url", ""))


def publish(d: Dashboard, backend: Backend, store: IdStore) -> Published:
    """Create or update the report and the workspace of ``d`` (and upload its local figures);
    ``store`` keeps the ids of what was made, written after each save."""
    if backend.count_runs(d.entity, d.project, d.group, TRAIN_JOB_TYPE) == 0:
        raise DashboardError(
            f"no runs of group {d.group!r} in W&B project {d.entity}/{d.project}: train the "
            f"study with logger=wandb first (`python run.py -m experiment={d.study} "
            f"logger=wandb`), or sync its offline runs with `wandb sync`.")
    notes: list[str] = []
    reports = backend.reports(d.entity, d.project)
    found, ids = _find_report(d, store.get(d.entity, d.project), reports, backend.viewer(), notes)

    if d.local_figures:
        run_id = ids.figures_run
        if run_id and not backend.run_exists(d.entity, d.project, run_id):
            notes.append(f"the figures run {run_id} was deleted: uploaded to a new run")
            run_id = ""
        run_id = run_id or new_figures_run_id(d.study)
        backend.upload_figures(d.entity, d.project, d.group, run_id, dict(d.local_figures))
        ids = replace(ids, figures_run=run_id)
        store.put(ids)

    fresh_ws = views.workspace(d)
    existing = None
    if ids.workspace_url:
        try:
            existing = backend.load_workspace(ids.workspace_url)
            if existing is None:
                notes.append(f"the workspace saved before ({ids.workspace_url}) is gone: made a "
                             f"new one")
        except ValueError as e:
            notes.append(f"wandb-workspaces could not read the workspace saved before "
                         f"({ids.workspace_url}: {_first_line(e)}): made a new one")
    if existing is not None:  # keeps its view name and id; its content is the dashboard's
        for name in ("name", "sections", "settings", "runset_settings"):
            setattr(existing, name, getattr(fresh_ws, name))
    workspace_url = backend.save_workspace(existing if existing is not None else fresh_ws)
    ids = replace(ids, workspace_url=workspace_url)
    store.put(ids)

    fresh = views.report(d, ids)
    report = fresh
    if found is not None:
        try:
            report = backend.load_report(found.url)
            # keeps its id, URL, authors and comments; its content is the dashboard's
            report.description, report.blocks, report.width = fresh.description, fresh.blocks, fresh.width
        except ValueError as e:  # pydantic's ValidationError is one
            notes.append(f"wandb-workspaces could not read the report's content "
                         f"({_first_line(e)}): replaced it whole, keeping its id and URL")
            report.id = found.id
    report_url = backend.save_report(report)
    ids = replace(ids, report_id=report.id, report_url=report_url)
    store.put(ids)
    others = tuple(r.url for r in reports if r.title == d.title and (found is None or r.id != found.id))
    return Published(report_url, found is None, workspace_url, existing is None, ids, others,
                     tuple(notes))


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class WandbBackend:
    """The W&B calls ``publish`` makes (needs a login and the network)."""

    def __init__(self, files: str | Path = "outputs/dashboards") -> None:
        import wandb

        self.api = wandb.Api()
        self.files = Path(files)  # W&B's local files of the figures run

    def default_entity(self) -> str:
        return self.api.default_entity

    def count_runs(self, entity, project, group, job_type):
        return len(self.api.runs(f"{entity}/{project}", filters={"group": group, "jobType": job_type}))

    def viewer(self):
        return self.api.viewer.username

    def reports(self, entity, project):
        return [ReportInfo(r.id, r.url, r.display_name or "", r.description or "",
                           (r.user or {}).get("username", ""), r.updated_at or "")
                for r in self.api.reports(f"{entity}/{project}")]

    def load_report(self, url):
        import wandb_workspaces.reports.v2 as wr

        return wr.Report.from_url(url)

    def save_report(self, report):
        return report.save().url

    def load_workspace(self, url):
        import wandb_workspaces.workspaces as ws
        from wandb_workspaces.workspaces.errors import SpecVersionError

        try:
            return ws.Workspace.from_url(url)
        except ValueError as e:  # wandb-workspaces: "Workspace `...` not found in project `...`"
            if "not found" in str(e):
                return None
            raise
        except SpecVersionError as e:  # a view the app saved in a newer (or older) spec
            raise ValueError(str(e)) from e

    def save_workspace(self, workspace):
        return workspace.save().url

    def run_exists(self, entity, project, run_id):
        from wandb.apis.public import RunNotFoundError

        try:
            self.api.run(f"{entity}/{project}/{run_id}")
        except RunNotFoundError:
            return False
        return True

    def upload_figures(self, entity, project, group, run_id, images):
        import wandb

        self.files.mkdir(parents=True, exist_ok=True)
        run = wandb.init(entity=entity, project=project, group=group, job_type=FIGURES_JOB_TYPE,
                         id=run_id, name=f"{group}: figures drawn locally", resume="allow",
                         dir=str(self.files), settings=wandb.Settings(silent=True))
        try:
            run.log({key: wandb.Image(path, caption=path) for key, path in images.items()})
        finally:
            run.finish()
