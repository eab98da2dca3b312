"""``python -m resnet_lab.dashboard STUDY [--entity E] [--project resnet_lab] [--dry-run |
--offline | --publish]``: the study's W&B report and saved workspace, panels drawn live from its
W&B group.

Logged in to W&B, it creates them, or updates the ones it made before (their ids are kept in
``<out>/<study>.wandb.json`` and in the report's description); the entity defaults to your W&B
default entity. Without a login (or with ``--offline``) it writes them as W&B's API would
receive them, in wandb-workspaces' own format, to ``<out>/<study>.report.json`` and
``<out>/<study>.workspace.json``. ``--dry-run`` prints the report's outline and panels and writes
nothing; neither needs an entity.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..config.sweeps import studies
from ..errors import ResnetLabError
from ..loggers import wandb_logged_in
from . import views
from .ids import IdStore
from .publish import WandbBackend, publish
from .spec import NO_ENTITY, Dashboard, build, dashboard_command
from .studies import DashboardError, load_study

OUT_DIR = Path("outputs/dashboards")


def can_publish() -> tuple[bool, str, str]:
    """Whether W&B can be written to now, and if not, why and what to do (ends of sentences)."""
    if os.environ.get("WANDB_MODE") in ("offline", "dryrun", "disabled"):
        return (False, f"W&B is set to {os.environ['WANDB_MODE']} (WANDB_MODE)",
                "unset WANDB_MODE")
    if not wandb_logged_in():
        return False, "there is no W&B login (`wandb login`, or WANDB_API_KEY)", "run `wandb login`"
    return True, "", ""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m resnet_lab.dashboard",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("study", nargs="?", help="a study of conf/experiment/ (figure6, table6, ...)")
    p.add_argument("--entity", default=os.environ.get("WANDB_ENTITY"),
                   help="W&B user or team that owns the project (default: $WANDB_ENTITY, else "
                        "your W&B default entity)")
    p.add_argument("--project", default="resnet_lab", help="W&B project (%(default)s)")
    p.add_argument("--nets", help="the nets the study ran instead of its grid's, as run.py's "
                                  "net=... (e.g. make cpu_degradation NETS=...)")
    p.add_argument("--figures", default="outputs/figures", metavar="DIR",
                   help="where the locally drawn figures are, per study (%(default)s)")
    p.add_argument("--out", default=str(OUT_DIR), metavar="DIR",
                   help="where the offline report and workspace files and the W&B ids the "
                        "suite made are kept (%(default)s)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the report's outline and panels; write nothing")
    p.add_argument("--offline", action="store_true",
                   help="write the report and workspace files even when logged in; send nothing")
    p.add_argument("--publish", action="store_true",
                   help="fail instead of writing the files when W&B cannot be reached")
    return p


def write_files(d: Dashboard, out: Path) -> tuple[Path, Path]:
    """The report and the workspace as ``save()`` would send them (``views.report_wire``),
    with the ids recorded for this project named in the report's description."""
    ids = IdStore(out, d.study).get(d.entity, d.project)
    paths = out / f"{d.study}.report.json", out / f"{d.study}.workspace.json"
    out.mkdir(parents=True, exist_ok=True)
    for path, wire in zip(paths, (views.report_wire(views.report(d, ids)),
                                  views.workspace_wire(views.workspace(d))), strict=True):
        path.write_text(json.dumps(wire, indent=1, ensure_ascii=False) + "\n")
    return paths


def run(args: argparse.Namespace) -> str:
    """Do what ``args`` ask; return what to print. Raises DashboardError."""
    valid = ", ".join(studies())
    if not args.study:
        raise DashboardError(f"give a study; valid studies (conf/experiment/): {valid}.")
    modes = [f"--{m.replace('_', '-')}" for m in ("dry_run", "offline", "publish") if getattr(args, m)]
    if len(modes) > 1:
        raise DashboardError(f"{' and '.join(modes)} exclude each other; give at most one of "
                             f"--dry-run, --offline, --publish.")
    nets = tuple(n.strip() for n in args.nets.split(",") if n.strip()) if args.nets else ()
    study = load_study(args.study, nets)
    if args.dry_run:
        return build(study, args.entity, args.project, args.figures).describe()
    ok, why, fix = can_publish()
    if args.offline or not ok:
        if args.publish:
            raise DashboardError(f"cannot publish: {why}; {fix}, then run this command again.")
        d = build(study, args.entity, args.project, args.figures)
        report, workspace = write_files(d, Path(args.out))
        because = "--offline" if args.offline else why
        again = dashboard_command(args.study, d.entity if d.entity != NO_ENTITY else "ENTITY",
                                  args.project)
        return (f"Wrote the report and workspace as W&B's API would receive them to {report} and "
                f"{workspace.name} (the project's id is a placeholder) because {because}; to "
                f"publish them, " + ("run" if args.offline else f"{fix}, then run")
                + f" `{again}`" + (" without --offline." if args.offline else " again."))
    try:
        backend = WandbBackend(args.out)
        entity = args.entity or backend.default_entity()
        if not entity:
            raise DashboardError("no W&B entity: give --entity NAME (your W&B user or team; "
                                 "make dashboard ENTITY=NAME) or set WANDB_ENTITY.")
        d = build(study, entity, args.project, args.figures)
        store = IdStore(args.out, args.study)
        done = publish(d, backend, store)
    except DashboardError:
        raise
    except Exception as e:  # network, refused login, unknown entity: one sentence
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise DashboardError(f"W&B refused or failed: {type(e).__name__}: {first}") from e
    lines = [f"report {'created' if done.report_created else 'updated'}: {done.report_url}",
             f"workspace {'created' if done.workspace_created else 'updated'}: {done.workspace_url}"]
    if done.ids.figures_run:
        lines.append(f"local figures: run {done.ids.figures_run} of group {d.group}")
    lines.append(f"the suite's W&B ids: {store.path} and the report's description")
    lines += [f"note: {n}" for n in done.notes]
    if done.others:
        lines.append(f"note: {len(done.others)} other report(s) titled {d.title!r} were left as "
                     f"they are: {', '.join(done.others)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run(args))
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
