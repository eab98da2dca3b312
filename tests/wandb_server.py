"""A recording stand-in for W&B's server, as ``wandb.Api`` and wandb-workspaces reach it, so that
the dashboard's real backend (``publish.WandbBackend``) and the library's own ``save()`` and
``from_url()`` run offline against it.

``FakeWandb.install(monkeypatch)`` replaces ``wandb.Api`` (the public API object, whose
GraphQL transport wandb-workspaces also uses) and ``wandb.init`` (the figures run). The server
keeps what is saved as W&B does: reports and workspace views by id with their spec as a JSON
string, the author of each report, runs by id (a deleted run's id cannot be used again). Only the
GraphQL operations the dashboard needs are answered; any other fails the test.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import wandb
from wandb.apis.public import BetaReport, RunNotFoundError

PROJECT_INTERNAL_ID = "UHJvamVjdDox"  # what the server answers for a project's internal id


@dataclass
class View:
    id: str
    type: str  # "runs" (a report) or "project-view" (a workspace)
    name: str
    display_name: str
    description: str
    entity: str
    project: str
    spec: str  # JSON, as saved
    author: str
    updated: int


@dataclass
class FakeRun:
    server: FakeWandb
    id: str
    entity: str
    project: str
    group: str
    job_type: str
    logged: list = field(default_factory=list)
    deleted: bool = False

    def log(self, row):
        self.logged.append(row)

    def finish(self):
        self.server.calls.append(("finish", self.id))


class FakeWandb:
    """The server, and the ``wandb.Api`` / ``wandb.init`` that reach it."""

    app_url = "https://wandb.test/"

    def __init__(self, viewer: str = "me", entity: str = "my-team") -> None:
        self.viewer, self.entity = viewer, entity
        self.views: dict[str, View] = {}
        self.runs: dict[tuple[str, str, str], FakeRun] = {}
        self.calls: list[tuple] = []
        self.clock = 0

    # ------------------------------------------------------------ what the tests set up and read

    def install(self, monkeypatch) -> FakeWandb:
        server = self

        class Api:
            def __init__(self, *args, **kwargs):
                self._service_api = server  # the transport wandb-workspaces' GraphQL calls use

            default_entity = property(lambda self: server.entity)
            viewer = property(lambda self: SimpleNamespace(username=server.viewer))

            def projects(self, entity=None, per_page=200):
                return [SimpleNamespace(name=p) for (e, p) in {(r.entity, r.project) for r in server.runs.values()}
                        if e == entity]

            def create_project(self, name, entity):
                server.calls.append(("create_project", entity, name))

            def runs(self, path, filters=None, **kw):
                entity, project = path.split("/")
                filters = filters or {}
                return [r for r in server.runs.values()
                        if (r.entity, r.project) == (entity, project) and not r.deleted
                        and r.group == filters.get("group", r.group)
                        and r.job_type == filters.get("jobType", r.job_type)]

            def run(self, path):
                run = server.runs.get(tuple(path.split("/")))
                if run is None or run.deleted:
                    raise RunNotFoundError(f"Could not find run {path}")
                return run

            def reports(self, path, name=None, per_page=50):
                entity, project = path.split("/")
                server.calls.append(("reports", path))
                return [BetaReport(server, server.node(v), entity=entity, project=project)
                        for v in server.views.values()
                        if v.type == "runs" and (v.entity, v.project) == (entity, project)]

        def init(entity=None, project=None, group=None, job_type=None, id=None, **kwargs):
            key = (entity, project, id)
            run = server.runs.get(key)
            if run is not None and run.deleted:  # as W&B answers
                raise wandb.errors.CommError(f"run {id} was previously created and deleted; "
                                             f"try a new run name")
            if run is None:
                run = server.runs[key] = FakeRun(server, id, entity, project, group, job_type)
            server.calls.append(("init", id))
            return run

        monkeypatch.setattr(wandb, "Api", Api)
        monkeypatch.setattr(wandb, "init", init)
        return self

    def add_run(self, group: str, job_type: str = "train", run_id: str | None = None,
                project: str = "resnet_lab") -> FakeRun:
        run_id = run_id or f"run{len(self.runs)}"
        run = self.runs[(self.entity, project, run_id)] = FakeRun(
            self, run_id, self.entity, project, group, job_type)
        return run

    def add_report(self, title: str, author: str, description: str = "", spec: dict | None = None,
                   project: str = "resnet_lab") -> View:
        """A report saved by someone (``author``) in the web app."""
        return self._save("runs", None, "", title, description, self.entity, project,
                          json.dumps(spec or {"version": 5, "blocks": []}), author)

    def reports_of(self, author: str | None = None) -> list[View]:
        return [v for v in self.views.values()
                if v.type == "runs" and (author is None or v.author == author)]

    def workspaces(self) -> list[View]:
        return [v for v in self.views.values() if v.type == "project-view"]

    # ------------------------------------------------------------ the server's side

    def node(self, v: View) -> dict:
        stamp = (datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=v.updated)).isoformat()
        return {"id": v.id, "name": v.name, "displayName": v.display_name, "type": v.type,
                "description": v.description, "spec": v.spec, "user": {"username": v.author},
                "project": {"id": PROJECT_INTERNAL_ID, "name": v.project, "entityName": v.entity},
                "createdAt": stamp, "updatedAt": stamp}

    def _save(self, type_, view_id, name, display_name, description, entity, project, spec,
              author) -> View:
        self.clock += 1
        if view_id is None:
            view_id = base64.b64encode(f"View:{self.clock}".encode()).decode()  # never reused
            self.views[view_id] = View(view_id, type_, name, display_name, description, entity,
                                       project, spec, author, self.clock)
        else:
            v = self.views[view_id]  # an update keeps the author
            v.name, v.display_name, v.description, v.spec, v.updated = (
                name or v.name, display_name, description, spec, self.clock)
        return self.views[view_id]

    def execute_graphql(self, query: str, variables=None, **kwargs):
        op = re.search(r"(?:query|mutation)\s+(\w+)", query).group(1)
        v = dict(variables or {})
        self.calls.append((op, v))
        if op == "ProjectInternalId":
            return {"project": {"id": PROJECT_INTERNAL_ID, "internalId": PROJECT_INTERNAL_ID}}
        if op in ("upsertView", "UpsertView2"):
            view_id = v.get("id")
            if view_id is not None and view_id not in self.views:
                raise wandb.errors.CommError(f"view {view_id} not found")
            saved = self._save(v["type"], view_id, v.get("name") or "", v["displayName"],
                               v.get("description") or "", v["entityName"], v["projectName"],
                               v["spec"], self.viewer)
            return {"upsertView": {"view": self.node(saved), "inserted": view_id is None}}
        if op == "SpecificReport":
            found = self.views.get(v["reportId"])
            return {"view": None if found is None else self.node(found)}
        if op == "View":  # a workspace view by its name
            edges = [{"node": self.node(w)} for w in self.workspaces()
                     if w.name == v["viewName"] and (w.entity, w.project) == (v["entityName"], v["projectName"])]
            return {"project": {"allViews": {"edges": edges}}}
        raise AssertionError(f"the stand-in does not answer GraphQL {op}")
