"""``python -m resnet_lab.dashboard STUDY --entity E [--project resnet_lab] [--dry-run]``: the
study's W&B report and saved workspace, panels drawn live from its W&B group.

Logged in to W&B, it creates them, or updates the ones an earlier run made. Without a login it
writes their specification to ``outputs/dashboards/<study>.json``; ``--dry-run`` prints the panels
and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..config.sweeps import studies
from ..errors import ResnetLabError
from ..loggers import wandb_logged_in
from .publish import WandbBackend, publish
from .spec import build
from .studies import DashboardError, load_study

OUT_DIR = Path("outputs/dashboards")


def can_publish() -> tuple[bool, str]:
    """Whether W&B can be written to now, and if not, why (the end of a sentence)."""
    if os.environ.get("WANDB_MODE") in ("offline", "dryrun", "disabled"):
        return False, f"W&B is set to {os.environ['WANDB_MODE']} (WANDB_MODE)"
    if not wandb_logged_in():
        return False, "there is no W&B login (`wandb login`, or WANDB_API_KEY)"
    return True, ""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m resnet_lab.dashboard",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("study", nargs="?", help="a study of conf/experiment/ (figure6, table6, ...)")
    p.add_argument("--entity", default=os.environ.get("WANDB_ENTITY"),
                   help="W&B user or team that owns the project (default: $WANDB_ENTITY)")
    p.add_argument("--project", default="resnet_lab", help="W&B project (%(default)s)")
    p.add_argument("--nets", help="the nets the study ran instead of its grid's, as run.py's "
                                  "net=... (e.g. make cpu_degradation NETS=...)")
    p.add_argument("--figures", default="outputs/figures", metavar="DIR",
                   help="where the locally drawn figures are, per study (%(default)s)")
    p.add_argument("--dry-run", action="store_true", help="print the panels; write nothing")
    p.add_argument("--publish", action="store_true",
                   help="fail instead of writing the specification when W&B cannot be reached")
    return p


def run(args: argparse.Namespace) -> str:
    """Do what ``args`` ask; return what to print. Raises DashboardError."""
    valid = ", ".join(studies())
    if not args.study:
        raise DashboardError(f"give a study; valid studies (conf/experiment/): {valid}.")
    if not args.entity:
        raise DashboardError("no W&B entity: give --entity NAME (your W&B user or team; "
                             "make dashboard ENTITY=NAME) or set WANDB_ENTITY.")
    nets = tuple(n.strip() for n in args.nets.split(",") if n.strip()) if args.nets else ()
    dashboard = build(load_study(args.study, nets), args.entity, args.project, args.figures)
    if args.dry_run:
        return dashboard.describe()
    ok, why = can_publish()
    if not ok:
        if args.publish:
            raise DashboardError(f"cannot publish: {why}; log in with `wandb login`, then run "
                                 f"this command again.")
        path = OUT_DIR / f"{args.study}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dashboard.to_json())
        return (f"Wrote the dashboard's specification to {path} because {why}; to publish it, run "
                f"`wandb login`, then `python -m resnet_lab.dashboard {args.study} --entity "
                f"{args.entity}" + (f" --project {args.project}" if args.project != "resnet_lab"
                                    else "") + "` again.")
    try:
        done = publish(dashboard, WandbBackend())
    except DashboardError:
        raise
    except Exception as e:  # network, refused login, unknown entity: one sentence
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise DashboardError(f"W&B refused or failed: {type(e).__name__}: {first}") from e
    lines = [f"report {'created' if done.report_created else 'updated'}: {done.report_url}",
             f"workspace {'created' if done.workspace_created else 'updated'}: {done.workspace_url}"]
    if done.duplicates:
        lines.append(f"note: {len(done.duplicates)} other report(s) titled {dashboard.title!r} "
                     f"were left as they are: {', '.join(done.duplicates)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run(args))
    except ResnetLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
