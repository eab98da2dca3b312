"""A study as its dashboard sees it, read from ``conf/experiment/<study>.yaml`` through Hydra as
``run.py -m experiment=<study>`` reads it: its W&B group, one resolved config per net, the
seeds, and which of the paper's outputs (``resnet_lab.figures.OUTPUTS``) it reproduces."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from ..compose import compose, sweep_jobs
from ..config import validate
from ..config.sweeps import studies, title
from ..errors import ConfigError, ResnetLabError
from ..figures import OUTPUTS, Run
from ..metric_names import TEST_ERROR, TRAIN_ERROR, VAL_ERROR
from ..train import resolved


class DashboardError(ResnetLabError):
    """What stops the dashboard command: one sentence, exit status 2."""


@dataclass(frozen=True)
class Study:
    name: str
    title: str  # the experiment file's first comment line
    runs: tuple[Run, ...]  # per net, the record a finished job would leave (see prospective_run)
    seeds: tuple[int, ...]
    spellings: tuple[tuple[str, str], ...]  # (net, how the experiment file spells it)

    @property
    def group(self) -> str:
        """The W&B group of the study's runs (``study`` in their config)."""
        return self.runs[0].config["study"]

    @property
    def nets(self) -> tuple[str, ...]:
        """The paper's legend names of the nets, in the experiment file's order."""
        return tuple(r.net for r in self.runs)

    def net_names(self, nets) -> tuple[str, ...]:
        """``nets`` and the experiment file's spelling of each where it differs (``ResNet-18``
        and ``ResNet-18-B``): a W&B sweep agent sets ``net`` as the sweep file spells it, and
        W&B keeps a sweep's value over the one the run logs."""
        names = dict.fromkeys(nets)
        names.update(dict.fromkeys(s for n, s in self.spellings if n in names))
        return tuple(names)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The paper's outputs this study reproduces: the one it is named after, else every
        one whose own selection rules (``Output.drawn_from``) take its runs."""
        if self.name in OUTPUTS:
            return (self.name,)
        return tuple(name for name, out in OUTPUTS.items()
                     if out.drawn_from(self.runs))


def prospective_run(cfg: dict) -> Run:
    """The record a finished job of ``cfg`` leaves, values unknown (NaN), so that the figures'
    selection rules can say which outputs and panels the job belongs to before it has run."""
    unknown = [(cfg["trainer"]["max_steps"], math.nan)]
    metrics = {TRAIN_ERROR: unknown, TEST_ERROR: unknown}
    if cfg["data"].get("val_size"):
        metrics[VAL_ERROR] = unknown
    responses = [{"layer": 1, "name": "", "std": math.nan}] if cfg["responses"]["enabled"] else None
    return Run(cfg, {"status": "done"}, metrics, responses, source=f"conf/experiment/{cfg['study']}")


@cache
def load_study(name: str, nets: tuple[str, ...] = ()) -> Study:
    """The study ``name`` (its grid, or ``net=`` ``nets`` instead of the grid's nets, as
    ``run.py -m experiment=<name> net=...`` would run). Raises DashboardError for an unknown one."""
    valid = studies()
    if name not in valid:
        raise DashboardError(f"unknown study {name!r}; valid studies (conf/experiment/): "
                             f"{', '.join(valid)}.")
    extra = [f"net={','.join(nets)}"] if nets else []
    by_net: dict[str, Run] = {}
    spellings: dict[str, str] = {}
    try:
        jobs = sweep_jobs([f"experiment={name}", *extra])
        # a net's seeds differ in nothing else: compose each net once (table6: 6 jobs, not 30)
        seeds = [int(o.split("=", 1)[1]) for job in jobs for o in job if o.startswith("seed=")]
        for job in dict.fromkeys(tuple(o for o in job if not o.startswith("seed=")) for job in jobs):
            cfg = compose(job)
            validate(cfg)
            run = prospective_run(resolved(cfg))
            by_net.setdefault(run.net, run)
            if run.config["net"] and run.config["net"] != run.net:
                spellings[run.net] = run.config["net"]
    except ConfigError as e:
        raise DashboardError(str(e)) from e
    runs = tuple(by_net.values())
    return Study(name, title(name), runs, tuple(dict.fromkeys(seeds)) or (runs[0].seed,),
                 tuple(spellings.items()))
