"""Saving a dashboard to W&B so that running the command again updates what it made before:
the report found by its title, the workspace by its fixed view name, the local figures in one
run per study; never a second copy.

``publish`` holds that logic and talks to W&B only through a ``Backend``: ``WandbBackend`` is
the real one (each method one call into ``wandb`` or ``wandb-workspaces``); the tests pass a
recording stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..loggers import TRAIN_JOB_TYPE
from . import views
from .spec import FIGURES_JOB_TYPE, Dashboard
from .studies import DashboardError


class Backend(Protocol):
    def count_runs(self, entity: str, project: str, group: str, job_type: str) -> int: ...
    def find_reports(self, entity: str, project: str, title: str) -> list[str]:
        """URLs of the saved (not draft) reports titled ``title``, the latest edited first."""
    def load_report(self, url: str): ...
    def save_report(self, report) -> str: ...
    def load_workspace(self, entity: str, project: str, view: str):
        """The saved view ``view``, or None when there is none."""
    def save_workspace(self, workspace) -> str: ...
    def upload_figures(self, entity: str, project: str, group: str, run_id: str,
                       images: dict[str, str]) -> None:
        """Log ``{key: PNG path}`` to the run ``run_id`` of ``group``, created or resumed."""


@dataclass(frozen=True)
class Published:
    report_url: str
    report_created: bool
    workspace_url: str
    workspace_created: bool
    duplicates: tuple[str, ...] = ()  # other reports with the same title, left alone


def figures_run_id(study: str) -> str:
    """One W&B run per study holds its locally drawn figures; re-uploads resume it."""
    return f"figures-{study}"


def publish(d: Dashboard, backend: Backend) -> Published:
    """Create or update the report and the workspace of ``d`` (and upload its local figures)."""
    if backend.count_runs(d.entity, d.project, d.group, TRAIN_JOB_TYPE) == 0:
        raise DashboardError(
            f"no runs of group {d.group!r} in W&B project {d.entity}/{d.project}: train the "
            f"study with logger=wandb first (`python run.py -m experiment={d.study} "
            f"logger=wandb`), or sync its offline runs with `wandb sync`.")
    if d.local_figures:
        backend.upload_figures(d.entity, d.project, d.group, figures_run_id(d.study),
                               dict(d.local_figures))

    fresh = views.report(d)
    found = backend.find_reports(d.entity, d.project, d.title)
    if found:
        report = backend.load_report(found[0])
        # the report keeps its id, URL, authors and comments; its content is the dashboard's
        report.description, report.blocks, report.width = fresh.description, fresh.blocks, fresh.width
    else:
        report = fresh
    report_url = backend.save_report(report)

    fresh_ws = views.workspace(d)
    existing = backend.load_workspace(d.entity, d.project, d.view)
    if existing is not None:
        for name in ("name", "sections", "settings", "runset_settings"):
            setattr(existing, name, getattr(fresh_ws, name))
    workspace_url = backend.save_workspace(existing if existing is not None else fresh_ws)
    return Published(report_url, not found, workspace_url, existing is None, tuple(found[1:]))


class WandbBackend:
    """The W&B calls ``publish`` makes (needs a login and the network)."""

    def __init__(self) -> None:
        import wandb

        self.api = wandb.Api()

    def count_runs(self, entity, project, group, job_type):
        return len(self.api.runs(f"{entity}/{project}", filters={"group": group, "jobType": job_type}))

    def find_reports(self, entity, project, title):
        mine = [r for r in self.api.reports(f"{entity}/{project}") if r.display_name == title]
        return [r.url for r in sorted(mine, key=lambda r: r.updated_at or "", reverse=True)]

    def load_report(self, url):
        import wandb_workspaces.reports.v2 as wr

        return wr.Report.from_url(url)

    def save_report(self, report):
        return report.save().url

    def load_workspace(self, entity, project, view):
        import wandb_workspaces.workspaces as ws

        probe = ws.Workspace(entity=entity, project=project)
        probe._internal_name = f"nw-{view}-v"  # only to build the view's URL
        try:
            return ws.Workspace.from_url(probe.url)
        except ValueError as e:  # wandb-workspaces: "Workspace `...` not found in project `...`"
            if "not found" in str(e) and "Workspace" in str(e):
                return None
            raise

    def save_workspace(self, workspace):
        return workspace.save().url

    def upload_figures(self, entity, project, group, run_id, images):
        import wandb

        where = Path("outputs/dashboards")  # W&B's local files of this run
        where.mkdir(parents=True, exist_ok=True)
        run = wandb.init(entity=entity, project=project, group=group, job_type=FIGURES_JOB_TYPE,
                         id=run_id, name=f"{group}: figures drawn locally", resume="allow",
                         dir=str(where), settings=wandb.Settings(silent=True))
        try:
            run.log({key: wandb.Image(path, caption=path) for key, path in images.items()})
        finally:
            run.finish()
