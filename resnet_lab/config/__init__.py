"""The run configuration, one home per rule:

- schema.py: every key and its type (Hydra structured configs; the model, data and logger
  options' from their constructors' signatures);
- checks.py: value ranges and cross-field rules, and their messages;
- translate.py: Hydra's and OmegaConf's own errors in the same one-sentence form;
- validation.py: ``validate(cfg)``, a whole config against both;
- neutral.py: the result-neutral keys (run-directory check and sweep directory names);
- resolvers.py, store.py: what ``register()`` hands to OmegaConf and to Hydra's ConfigStore;
- legacy.py: run records of older code in today's keys;
- command_line.py: run.py's check of its overrides; sweeps.py: the W&B sweep files.
"""

from .neutral import NOT_RESULTS, is_result
from .resolvers import register_resolvers
from .store import store_configs
from .validation import check_model_config, validate


def register() -> None:
    """Register the resolvers and store the schemas and job-directory settings, before Hydra
    composes conf/ (run.py, ``compose()``). Idempotent."""
    register_resolvers()
    store_configs()


__all__ = ["NOT_RESULTS", "check_model_config", "is_result", "register", "validate"]
