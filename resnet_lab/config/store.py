"""What Hydra finds in its ConfigStore besides conf/: the schemas, which conf/'s YAML names in
its defaults lists, and the job directory names' excluded keys, which come from NOT_RESULTS.

Parallel launchers (joblib, SLURM) hand the ConfigStore to their job processes with Hydra's own
state, so jobs composed there see the same nodes."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from .neutral import dirname_excludes
from .schema import OPTIONS, Config, target_schema


def store_configs() -> None:
    cs = ConfigStore.instance()
    if "config.yaml" in cs.repo.get("schema", {}):
        return  # stored already: once per process (building the schemas costs ~0.1 s a compose)
    cs.store(group="schema", name="config", node=Config)
    for group, options in OPTIONS.items():
        for name, target in options.items():
            cs.store(group=f"schema/{group}", name=name, node=target_schema(target))
    # listed in conf/hydra/default.yaml's defaults
    cs.store(group="hydra", name="job_dirname",
             node={"job": {"config": {"override_dirname": {"exclude_keys": dirname_excludes()}}}})
