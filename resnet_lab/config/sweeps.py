"""The W&B sweep files, ``sweeps/<study>.yaml``, generated from the studies: each has its
study's grid (``hydra.sweeper.params`` in ``conf/experiment/<study>.yaml``) and title (the
file's first comment line). ``python -m resnet_lab.config.sweeps`` rewrites them; a test checks
that the committed ones are current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from ..compose import CONF_DIR, compose
from ..metric_names import TEST_ERROR

SWEEPS_DIR = CONF_DIR.parent / "sweeps"
EXPERIMENTS_DIR = CONF_DIR / "experiment"


def studies() -> list[str]:
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))


def grid(study: str) -> dict[str, list[Any]]:
    """The study's sweep: each key's values, typed as Hydra parses them."""
    params = compose([f"experiment={study}"], return_hydra_config=True).hydra.sweeper.params
    parser = OverridesParser.create()
    out = {}
    for key, values in params.items():
        o = parser.parse_override(f"{key}={values}")
        out[key] = list(o.sweep_iterator()) if o.is_sweep_override() else [o.value()]
    return out


def title(study: str) -> str:
    lines = (EXPERIMENTS_DIR / f"{study}.yaml").read_text().splitlines()
    first = next(ln for ln in lines if ln.startswith("#") and "@package" not in ln)
    return first.lstrip("# ").rstrip(".")


def render(study: str) -> str:
    """The text of ``sweeps/<study>.yaml``."""
    sweep = {
        "name": study,
        "description": title(study),
        "program": "run.py",
        "method": "grid",
        "metric": {"name": TEST_ERROR, "goal": "minimize"},
        "parameters": {key: {"values": values} for key, values in grid(study).items()},
        "command": ["${env}", "${interpreter}", "${program}", f"experiment={study}",
                    "hydra.mode=RUN", "logger=wandb", "${args_no_hyphens}"],
    }
    keys = " ".join(f"{k}=..." for k in sweep["parameters"])
    header = (
        f"# W&B sweep for `{study}` ({title(study)}).\n"
        f"# Generated from conf/experiment/{study}.yaml by `python -m resnet_lab.config.sweeps`;\n"
        f"# edit the experiment, then run that.\n"
        f"#   wandb sweep sweeps/{study}.yaml          # prints a sweep id\n"
        f"#   wandb agent <entity>/<project>/<id>      # on each machine, from the repo root\n"
        f"# Each agent runs one job at a time as `python run.py experiment={study} hydra.mode=RUN {keys}`;\n"
        f"# its records land in outputs/sweeps/{study}/ on that machine, its metrics in the W&B group {study}.\n"
    )
    return header + yaml.safe_dump(sweep, sort_keys=False)


def write_all(folder: Path = SWEEPS_DIR) -> list[Path]:
    paths = []
    for study in studies():
        path = folder / f"{study}.yaml"
        path.write_text(render(study))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p)
